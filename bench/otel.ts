// BENCH_OTEL=1: the OpenTelemetry SDK registered in the nestjs-dbos bench child, as an app that
// traces would: an AsyncLocalStorage context manager, a tracer provider with a batch processor
// to an in-memory exporter (emptied on each export, so memory stays flat), and a meter provider
// read every 10 s. Without it the module finds no provider and makes no span.
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

export function registerBenchOtel(): void {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const spans = new InMemorySpanExporter();
  const exportSpans = spans.export.bind(spans);
  let exported = 0;
  spans.export = (batch, done) => {
    exported += batch.length;
    spans.reset();
    exportSpans(batch, done);
  };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(spans)] }));
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 10_000 });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  process.on('exit', () => process.stderr.write(`BENCH_OTEL: ${exported} spans exported\n`));
}
