import { randomUUID } from 'node:crypto';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { currentTraceContext } from '../observability/trace-context';
import { serialize } from '../serialization/value.codec';
import { INTERNAL_QUEUE } from '../system-database/system.names';
import type { SystemDatabase } from '../system-database/system.database';
import { serializeWithin } from '../workflow/workflow.limits';
import { newWorkflowRow } from '../workflow/workflow-row.builder';
import { DebounceRepository } from './debounce.repository';
import type { RunLifecycleRepository } from '../system-database/run-lifecycle.repository';
import type { DebounceByNameOptions, DebounceOptions, DebounceTarget } from './debounce.options';

/** Longest debounce key accepted (it is a key of the debounce table). */
export const MAX_DEBOUNCE_KEY_LENGTH = 255;

/**
 * Collapses the calls of one debounce key into one run: a burst is one ENQUEUED row whose delay
 * each call pushes back (see DebounceRepository); the queue's dispatchers start it once due.
 */
export class WorkflowDebouncer {
  private readonly repository: DebounceRepository;

  constructor(system: SystemDatabase, lifecycle: RunLifecycleRepository) {
    this.repository = new DebounceRepository(system, lifecycle);
  }

  /** The id of the run this call collapsed into. */
  async debounce(key: string, options: DebounceOptions, target: DebounceTarget, args: unknown[]): Promise<string> {
    checkDebounceOptions(key, options);
    const what = `the arguments of workflow ${target.workflowName}`;
    const inputs = target.maxPayloadBytes === undefined ? serialize(args, what) : serializeWithin(args, what, target.maxPayloadBytes);
    const row = newWorkflowRow(
      {
        workflowId: randomUUID(),
        workflowName: target.workflowName,
        className: target.className,
        inputs,
        applicationVersion: target.applicationVersion,
        options: {
          queue: options.queue ?? INTERNAL_QUEUE,
          priority: options.priority,
          partitionKey: options.partitionKey,
          delayMs: Math.min(options.periodMs, options.maxWaitMs ?? Infinity),
          timeoutMs: options.timeoutMs ?? target.timeoutMs,
        },
        traceContext: currentTraceContext(),
      },
      target.now,
    );
    const { workflowId } = await this.repository.call({
      workflowName: target.workflowName,
      key,
      row,
      periodMs: options.periodMs,
      maxWaitMs: options.maxWaitMs ?? null,
      now: target.now,
    });
    return workflowId;
  }

  /** `debounce` by workflow name (no class needed): the run is taken by an executor of `applicationVersion`, or of any version. */
  debounceByName(key: string, options: DebounceByNameOptions, args: unknown[]): Promise<string> {
    if (typeof options.workflowName !== 'string' || options.workflowName.length === 0) {
      throw new DbosInvalidArgumentError(
        'debounce() by name needs options.workflowName, the registered name of the workflow (ClassName.methodName by default).',
      );
    }
    const target = { workflowName: options.workflowName, className: null, applicationVersion: options.applicationVersion ?? null, now: Date.now() };
    return this.debounce(key, options, target, args);
  }
}

/** A key and durations the burst can be built from, or DbosInvalidArgumentError saying what to pass. */
export function checkDebounceOptions(key: string, options: DebounceOptions): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_DEBOUNCE_KEY_LENGTH) {
    throw new DbosInvalidArgumentError(
      `Debounce key ${JSON.stringify(String(key).slice(0, 40))} is not valid: use a non-empty string of at most ${MAX_DEBOUNCE_KEY_LENGTH} characters.`,
    );
  }
  const duration = (value: number | undefined, name: string) => {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new DbosInvalidArgumentError(`debounce() option ${name} must be a whole number of milliseconds, 0 or more; got ${String(value)}.`);
    }
  };
  if (options.periodMs === undefined) throw new DbosInvalidArgumentError('debounce() needs options.periodMs: how long after the last call the run starts.');
  duration(options.periodMs, 'periodMs');
  duration(options.maxWaitMs, 'maxWaitMs');
}
