import type { Attributes, ProxyTracerProvider, Span, Tracer } from '@opentelemetry/api';
import { otel, type Otel } from './otel.api';
import { contextOf } from './trace-context';

/** The instrumentation scope of every span and instrument of the module. */
export const INSTRUMENTATION_SCOPE = 'nestjs-dbos';

let noopDelegate: unknown;
/** The module's tracer, taken once per tracer provider the app registers (each lookup builds a key and walks a map). */
let tracerOf: { provider: unknown; tracer: Tracer } | undefined;

/**
 * The API and the module's tracer when the app registered a tracer provider; null without one,
 * and then no span is made at all (not even the API's no-op spans): one global lookup per
 * operation is the whole cost.
 */
function activeTracer(): { api: Otel; tracer: Tracer } | null {
  const api = otel();
  if (!api) return null;
  const provider = api.trace.getTracerProvider();
  const getDelegate = (provider as Partial<ProxyTracerProvider>).getDelegate;
  const delegate = typeof getDelegate === 'function' ? getDelegate.call(provider) : provider;
  if (typeof getDelegate === 'function') {
    noopDelegate ??= new api.ProxyTracerProvider().getDelegate();
    if (delegate === noopDelegate) return null;
  }
  if (tracerOf?.provider !== delegate) tracerOf = { provider: delegate, tracer: api.trace.getTracer(INSTRUMENTATION_SCOPE) };
  return { api, tracer: tracerOf.tracer };
}

/** True when the app registered a tracer provider (see activeTracer). */
export function tracingOn(): boolean {
  return activeTracer() !== null;
}

/** What the span of one run of a workflow says about it. */
export interface WorkflowSpanInfo {
  workflowId: string;
  workflowName: string;
  queueName: string | null;
  /** Run again after a crash, an adoption or a sweep (the row's recovery attempts are above 0). */
  recovered: boolean;
  /** The trace context stored at its start (see currentTraceContext): the span's parent. */
  traceContext: string | null;
}

/**
 * How a run that threw ended: `interrupted` here without an outcome (shutdown, superseded, an
 * outage), `cancelled` (a cancel or its deadline: the workflow's status is CANCELLED), or `failed`
 * (its error is its outcome).
 */
export type RunEnd = 'interrupted' | 'cancelled' | 'failed';

/**
 * Runs one run of a workflow (`run`) inside its span `workflow <name>`, a child of the context
 * its start stored. `endOf` tells how a run that threw ended: only a failure sets the ERROR
 * status; an interruption is an event, a cancellation an event and `dbos.workflow.status`.
 */
export function inWorkflowSpan<T>(info: WorkflowSpanInfo, run: () => Promise<T>, endOf: (err: unknown) => RunEnd): Promise<T> {
  const active = activeTracer();
  if (!active) return run();
  const { api, tracer } = active;
  const parent = contextOf(api, info.traceContext);
  const attributes: Attributes = {
    'dbos.workflow.id': info.workflowId,
    'dbos.workflow.name': info.workflowName,
    'dbos.recovered': info.recovered,
  };
  if (info.queueName !== null) attributes['dbos.queue.name'] = info.queueName;
  const span = tracer.startSpan(`workflow ${info.workflowName}`, { attributes }, parent);
  return settleSpan(api, span, api.context.with(api.trace.setSpan(parent, span), run), endOf);
}

/** The position of an operation in its workflow, for its span. */
export interface StepSpanInfo {
  workflowId: string;
  stepId: number;
  stepName: string;
  /** 1 for the first attempt. */
  attempt: number;
}

/** Runs `fn` inside the span `step <name>` (a child of the active span: the workflow's). */
export function inStepSpan<T>(step: StepSpanInfo, fn: () => Promise<T>): Promise<T> {
  const active = activeTracer();
  if (!active) return fn();
  return childSpan(
    active,
    `step ${step.stepName}`,
    { 'dbos.workflow.id': step.workflowId, 'dbos.step.id': step.stepId, 'dbos.step.name': step.stepName, 'dbos.step.attempt': step.attempt },
    fn,
  );
}

/** Runs `fn` inside a span `name`, a child of the active span; none while tracing is off. */
export function inSpan<T>(name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const active = activeTracer();
  return active ? childSpan(active, name, attributes, fn) : fn();
}

function childSpan<T>({ api, tracer }: { api: Otel; tracer: Tracer }, name: string, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  const span = tracer.startSpan(name, { attributes });
  return settleSpan(api, span, api.context.with(api.trace.setSpan(api.context.active(), span), fn), () => 'failed');
}

function settleSpan<T>(api: Otel, span: Span, work: Promise<T>, endOf: (err: unknown) => RunEnd): Promise<T> {
  return work.then(
    (value) => {
      span.end();
      return value;
    },
    (err: unknown) => {
      const end = endOf(err);
      if (end !== 'failed') {
        span.addEvent(end, { 'exception.type': (err as Error)?.name ?? typeof err, 'exception.message': (err as Error)?.message ?? String(err) });
        if (end === 'cancelled') span.setAttribute('dbos.workflow.status', 'CANCELLED');
      } else {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      }
      span.end();
      throw err;
    },
  );
}

/** The id of the active span's trace, for log lines; undefined when no span is active or tracing is off. */
export function activeTraceId(): string | undefined {
  const api = otel();
  const span = api?.trace.getActiveSpan();
  if (!span) return undefined;
  const { traceId } = span.spanContext();
  return api!.isValidTraceId(traceId) ? traceId : undefined;
}
