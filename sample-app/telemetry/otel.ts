// The OpenTelemetry Node SDK, started before the app is imported (main.ts imports this first, so
// the HTTP instrumentation wraps `http` before Nest loads it). nestjs-dbos uses whatever
// providers the app registers: its spans and metrics go where the app's go.
//
//   traces   OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set, else the console
//            (OTEL_TRACES_EXPORTER=none to keep them quiet; OTEL_SDK_DISABLED=true turns it all off)
//   metrics  Prometheus text at GET /metrics (see metrics.controller.ts)
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { prometheusExporter, telemetrySdk } from './prometheus';

process.env.OTEL_TRACES_EXPORTER ??= process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? 'otlp' : 'console';

const sdk = new NodeSDK({
  serviceName: process.env.OTEL_SERVICE_NAME ?? 'nestjs-dbos-sample',
  metricReaders: [prometheusExporter],
  instrumentations: [new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => req.url === '/metrics' || !!req.url?.startsWith('/health') })],
});
sdk.start();
telemetrySdk.shutdown = () => sdk.shutdown();
