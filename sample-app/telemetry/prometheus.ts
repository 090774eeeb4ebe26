import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

/**
 * The Prometheus reader of the app's meter provider (registered by otel.ts), served at GET
 * /metrics by MetricsController instead of a server of its own.
 */
export const prometheusExporter = new PrometheusExporter({ preventServerStart: true });

/** How the SDK started by otel.ts flushes its last spans; TelemetryModule calls it at shutdown. */
export const telemetrySdk: { shutdown?: () => Promise<void> } = {};
