import { otel, type Otel } from './otel.api';
import type { Context } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** W3C trace-context headers: what a workflow keeps of the trace it was started in. */
export interface TraceCarrier {
  traceparent: string;
  tracestate?: string;
}

/**
 * The trace context active now (the span of the request or step starting a workflow), as the
 * JSON of its W3C headers, stored with the workflow; null when no span is active.
 */
export function currentTraceContext(): string | null {
  const api = otel();
  const span = api?.trace.getActiveSpan();
  if (!api || !span) return null;
  const sc = span.spanContext();
  if (!api.isSpanContextValid(sc)) return null;
  const carrier: TraceCarrier = { traceparent: `00-${sc.traceId}-${sc.spanId}-0${(sc.traceFlags & 1).toString(16)}` };
  const state = sc.traceState?.serialize();
  if (state) carrier.tracestate = state;
  return JSON.stringify(carrier);
}

/** The stored form of W3C headers a message carried (`traceparent`, `tracestate`); null without a valid traceparent. */
export function traceContextOfHeaders(headers: Record<string, unknown> | undefined | null): string | null {
  const header = (name: string) => {
    const v = headers?.[name];
    const one = Array.isArray(v) ? v[0] : v;
    return one === undefined || one === null ? undefined : String(one);
  };
  const traceparent = header('traceparent');
  if (!traceparent || !TRACEPARENT.test(traceparent.trim())) return null;
  const tracestate = header('tracestate');
  return JSON.stringify(tracestate ? { traceparent: traceparent.trim(), tracestate } : { traceparent: traceparent.trim() });
}

/** The stored trace context's headers, with its traceparent's fields; null when there is none (or it is unreadable). */
function parse(stored: string | null): { carrier: Partial<TraceCarrier>; match: RegExpExecArray } | null {
  if (!stored) return null;
  let carrier: Partial<TraceCarrier>;
  try {
    carrier = JSON.parse(stored) as Partial<TraceCarrier>;
  } catch {
    return null;
  }
  const match = TRACEPARENT.exec(carrier.traceparent ?? '');
  return match ? { carrier, match } : null;
}

/** The trace id of a stored trace context, for log lines; undefined when there is none. Needs no `@opentelemetry/api`. */
export function traceIdOf(stored: string | null): string | undefined {
  return parse(stored)?.match[1];
}

/** The context whose (remote) span is the one a stored trace context names; the root context when there is none. */
export function contextOf(api: Otel, stored: string | null): Context {
  const parsed = parse(stored);
  if (!parsed) return api.ROOT_CONTEXT;
  const { carrier, match } = parsed;
  return api.trace.setSpanContext(api.ROOT_CONTEXT, {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16) & 1,
    isRemote: true,
    ...(carrier.tracestate ? { traceState: api.createTraceState(carrier.tracestate) } : {}),
  });
}
