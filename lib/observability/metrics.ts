import type { Counter, Histogram, Meter, MeterProvider, ObservableGauge } from '@opentelemetry/api';
import { otel } from './otel.api';
import { INSTRUMENTATION_SCOPE } from './tracing';

/** Depth (ENQUEUED) and running (PENDING) count of one queue. */
export interface QueueCounts {
  queue: string;
  enqueued: number;
  running: number;
}

interface Instruments {
  started: Counter;
  finished: Counter;
  workflowDuration: Histogram;
  stepDuration: Histogram;
  queueWait: Histogram;
  recoveries: Counter;
  retries: Counter;
  depth: ObservableGauge;
  running: ObservableGauge;
}

/** The instruments, made on the meter provider they belong to (none while the app registered none). */
let made: { provider: MeterProvider; instruments: Instruments | null } | undefined;
/** Where the queue gauges read their counts (one per module instance). */
const queueSources = new Set<() => Promise<QueueCounts[]>>();

/**
 * The instruments on the app's global meter provider, made again when it changes (the metrics
 * API has no proxy: a meter taken before the SDK registered would stay a no-op); null with none.
 */
function instruments(): Instruments | null {
  const api = otel();
  if (!api) return null;
  const provider = api.metrics.getMeterProvider();
  if (made?.provider !== provider)
    made = { provider, instruments: provider.constructor.name === 'NoopMeterProvider' ? null : make(provider.getMeter(INSTRUMENTATION_SCOPE)) };
  return made.instruments;
}

function make(meter: Meter): Instruments {
  const ms = { unit: 'ms' };
  const made: Instruments = {
    started: meter.createCounter('dbos.workflows.started', {
      description: 'Workflows that began running (a start or a dequeue; recoveries are dbos.recoveries)',
    }),
    finished: meter.createCounter('dbos.workflows.finished', { description: 'Workflow outcomes recorded, by status' }),
    workflowDuration: meter.createHistogram('dbos.workflow.duration', { ...ms, description: 'From a run starting to its recorded outcome' }),
    stepDuration: meter.createHistogram('dbos.step.duration', { ...ms, description: 'One attempt of a step or transaction' }),
    queueWait: meter.createHistogram('dbos.queue.wait', { ...ms, description: 'From enqueue to dequeue' }),
    recoveries: meter.createCounter('dbos.recoveries', { description: 'Workflows recovered (restart, sweep, adoption)' }),
    retries: meter.createCounter('dbos.step.retries', { description: 'Step attempts after a failed one' }),
    depth: meter.createObservableGauge('dbos.queue.depth', { description: 'ENQUEUED workflows per queue' }),
    running: meter.createObservableGauge('dbos.queue.running', { description: 'PENDING workflows per queue' }),
  };
  meter.addBatchObservableCallback(
    async (result) => {
      for (const source of queueSources) {
        for (const q of await source().catch(() => [])) {
          result.observe(made.depth, q.enqueued, { 'dbos.queue.name': q.queue });
          result.observe(made.running, q.running, { 'dbos.queue.name': q.queue });
        }
      }
    },
    [made.depth, made.running],
  );
  return made;
}

/** Reports the queue gauges from `source` (read at each collection) until the returned function is called. */
export function observeQueues(source: () => Promise<QueueCounts[]>): () => void {
  queueSources.add(source);
  instruments();
  return () => queueSources.delete(source);
}

export function countStarted(workflowName: string, queueName: string | null): void {
  instruments()?.started.add(
    1,
    queueName === null ? { 'dbos.workflow.name': workflowName } : { 'dbos.workflow.name': workflowName, 'dbos.queue.name': queueName },
  );
}

export function countFinished(workflowName: string, status: string, durationMs: number): void {
  const m = instruments();
  if (!m) return;
  const attributes = { 'dbos.workflow.name': workflowName, status };
  m.finished.add(1, attributes);
  m.workflowDuration.record(durationMs, attributes);
}

/**
 * A workflow cancelled before any process ran it (it was ENQUEUED): counted CANCELLED by the
 * process that cancelled it, as no run will count it. No duration: it never ran.
 */
export function countCancelledUnstarted(workflowName: string): void {
  instruments()?.finished.add(1, { 'dbos.workflow.name': workflowName, status: 'CANCELLED' });
}

export function recordStepDuration(stepName: string, status: 'SUCCESS' | 'ERROR', durationMs: number): void {
  instruments()?.stepDuration.record(durationMs, { 'dbos.step.name': stepName, status });
}

export function countRetry(stepName: string): void {
  instruments()?.retries.add(1, { 'dbos.step.name': stepName });
}

export function recordQueueWait(queueName: string, waitMs: number): void {
  instruments()?.queueWait.record(Math.max(0, waitMs), { 'dbos.queue.name': queueName });
}

export function countRecovery(workflowName: string, source: string): void {
  instruments()?.recoveries.add(1, { 'dbos.workflow.name': workflowName, source });
}

/** True when a meter provider is registered: callers skip measuring (reading clocks) otherwise. */
export function metricsOn(): boolean {
  return instruments() !== null;
}
