// BENCH_OTEL: what the nestjs-dbos bench child has of OpenTelemetry.
// - unset: `@opentelemetry/api` installed (a dev dependency here) and no SDK registered: the
//   module finds no provider and makes no span (its no-SDK path);
// - `absent`: `@opentelemetry/api` made unresolvable, as in an app that does not install the
//   optional peer: the module loads nothing. Against an unset run: the cost of the no-SDK path;
// - `1`: the SDK registered, as an app that traces would: an AsyncLocalStorage context manager, a
//   tracer provider with a batch processor to an in-memory exporter (emptied on each export, so
//   memory stays flat), and a meter provider read every 10 s.
// The child says on stderr at exit which one it ran with.
import Module = require('node:module');

export function applyBenchOtel(mode = process.env.BENCH_OTEL): void {
  if (mode === 'absent') pretendApiMissing();
  else if (mode === '1') registerSdk();
  else if (mode !== undefined && mode !== '') throw new Error(`BENCH_OTEL must be unset, "absent" or "1"; got "${mode}"`);
  process.on('exit', () => {
    const loaded = Object.keys(require.cache).some((file) => file.includes('/@opentelemetry/api/'));
    process.stderr.write(
      `BENCH_OTEL=${mode ?? ''}: @opentelemetry/api ${loaded ? 'loaded' : 'not loaded'}${mode === '1' ? `, ${exported} spans exported` : ''}\n`,
    );
  });
}

let exported = 0;

/** From now on, requiring `@opentelemetry/api` fails as if it were not installed (the module loads it on first use). */
function pretendApiMissing(): void {
  const internals = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = internals._resolveFilename;
  internals._resolveFilename = function (request: string, ...rest: unknown[]): string {
    if (request === '@opentelemetry/api' || request.startsWith('@opentelemetry/api/')) {
      throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
    }
    return resolve.call(this, request, ...rest);
  };
}

function registerSdk(): void {
  // Loaded only in this mode.
  const { context, metrics, trace } = require('@opentelemetry/api') as typeof import('@opentelemetry/api');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof import('@opentelemetry/context-async-hooks');
  const sdkMetrics = require('@opentelemetry/sdk-metrics') as typeof import('@opentelemetry/sdk-metrics');
  const sdkTrace = require('@opentelemetry/sdk-trace-base') as typeof import('@opentelemetry/sdk-trace-base');
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const spans = new sdkTrace.InMemorySpanExporter();
  const exportSpans = spans.export.bind(spans);
  spans.export = (batch, done) => {
    exported += batch.length;
    spans.reset();
    exportSpans(batch, done);
  };
  trace.setGlobalTracerProvider(new sdkTrace.BasicTracerProvider({ spanProcessors: [new sdkTrace.BatchSpanProcessor(spans)] }));
  const reader = new sdkMetrics.PeriodicExportingMetricReader({
    exporter: new sdkMetrics.InMemoryMetricExporter(sdkMetrics.AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 10_000,
  });
  metrics.setGlobalMeterProvider(new sdkMetrics.MeterProvider({ readers: [reader] }));
}
