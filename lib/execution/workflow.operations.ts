import { randomUUID } from 'node:crypto';
import { ChildWorkflowHandle } from '../client/child-workflow.handle';
import type { WorkflowHandle } from '../client/workflow.handle';
import { sleepUntil, type WorkflowClock } from '../common/clock';
import type { DbosRuntime } from '../context/dbos-runtime.interface';
import { currentWorkflowContext } from '../context/workflow-context.storage';
import type { StepRegistration, WorkflowRegistration, WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosError } from '../errors/dbos.error';
import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import { waitAll, waitFirstIndex } from '../fan-out/fan-out';
import { idsOf } from '../fan-out/handle-set.waiter';
import type { StartWorkflowOptions, StepDecoratorOptions } from '../interfaces/workflow-options.interface';
import { stepOptionsProblem } from './step-options.check';
import { inSpan } from '../observability/tracing';
import { deserialize } from '../serialization/value.codec';
import type { CommunicationRepository } from '../system-database/communication.repository';
import type { NotificationListener } from '../system-database/notification.listener';
import type { Sql } from '../system-database/sql';
import { eventKey, messageKey } from '../system-database/system.names';
import { serializeWithin } from '../workflow/workflow.limits';
import type { ExecutorSettings } from './executor.settings';
import type { LeaseGate } from './lease.gate';
import type { RunningWorkflows } from './running-workflows.table';
import type { StepRunner } from './step.runner';
import type { WorkflowControl } from './workflow.control';
import type { WorkflowExecutor } from './workflow.executor';
import { currentRun, requireCurrentRun, type WorkflowRun } from './workflow.run';

import { deprecatePatch, patched } from './workflow.patches';

export const DEFAULT_TOPIC = '';

/**
 * The DbosContext calls: durable time, messages, events, streams, child workflows. From a
 * workflow body each is a checkpointed operation; outside one, what makes sense still works.
 */
export interface WorkflowOperationsDependencies {
  steps: StepRunner;
  /** Starts workflows (children included). */
  executor: WorkflowExecutor;
  /** Handles and local results. */
  control: WorkflowControl;
  runs: RunningWorkflows;
  gate: LeaseGate;
  registry: WorkflowRegistry;
  communication: CommunicationRepository;
  listener: NotificationListener;
  settings: ExecutorSettings;
  /** Workflow time: sleeps, recv/getEvent deadlines, now(). */
  clock: WorkflowClock;
}

export class WorkflowOperations implements DbosRuntime {
  private readonly steps: StepRunner;
  private readonly communication: CommunicationRepository;
  private readonly listener: NotificationListener;
  private readonly clock: WorkflowClock;

  constructor(private readonly deps: WorkflowOperationsDependencies) {
    this.steps = deps.steps;
    this.communication = deps.communication;
    this.listener = deps.listener;
    this.clock = deps.clock;
  }

  async now(): Promise<number> {
    const run = currentRun();
    return run ? this.steps.runOperation(run, 'DBOS.now', async () => this.clock.now()) : this.clock.now();
  }

  async randomUUID(): Promise<string> {
    const run = currentRun();
    return run ? this.steps.runOperation(run, 'DBOS.randomUUID', async () => randomUUID()) : randomUUID();
  }

  /** The wake-up time is the recorded checkpoint: a replay after a restart waits for the original deadline. */
  async sleepUntil(target: number | { durationMs: number }): Promise<void> {
    const run = currentRun();
    const wakeAt = () => (typeof target === 'number' ? target : this.clock.now() + target.durationMs);
    if (!run) return sleepUntil(this.clock, wakeAt(), this.signalOf(undefined));
    // One span for the whole sleep (the wait too); the recording of its wake-up time is a step span inside it.
    return inSpan('sleep', { 'dbos.workflow.id': run.workflowId }, () => this.sleepIn(run, wakeAt));
  }

  private async sleepIn(run: WorkflowRun, wakeAt: () => number): Promise<void> {
    const deadline = await this.steps.runOperation(run, 'DBOS.sleep', async () => wakeAt());
    if (run.replayOnly) return; // a replay check waits for nothing
    const waitMs = deadline - this.clock.now();
    await sleepUntil(this.clock, deadline, this.signalOf(run)).catch((err: unknown) => {
      throw run.interrupt(err);
    });
    // A long sleep touched no database: confirm the run still owns the workflow before its next step.
    // (A short one is covered by the step gate: adoption needs this executor silent for a whole lease.)
    if (waitMs > this.deps.settings.executorLeaseMs / 2) await this.deps.gate.confirmOwnership(run, true);
  }

  async send(destinationId: string, message: unknown, topic: string | undefined): Promise<void> {
    const body = serializeWithin(message, 'the message', this.deps.settings.maxPayloadBytes);
    const run = currentRun();
    const send = async (messageId: string, client?: Sql) => {
      const result = await this.communication.send(client, { messageId, destinationId, topic: topic ?? DEFAULT_TOPIC, message: body });
      if (result === 'not-found') {
        throw new DbosNotFoundError(`Cannot send to workflow "${destinationId}": no workflow has that id.`);
      }
    };
    if (!run) {
      throwIfAttemptAbandoned();
      return send(randomUUID());
    }
    await this.steps.runSystemTransaction(run, 'DBOS.send', async (client, stepId) => {
      // The id is the sender's position, so even a repeated attempt delivers once.
      await send(`${run.workflowId}:${stepId}`, client);
      return { value: undefined };
    });
  }

  /** The message is consumed in the statement that records the recv: never lost, never twice. */
  async recv<T>(topic: string | undefined, timeoutMs: number): Promise<T | null> {
    const run = requireCurrentRun('DbosContext.recv()');
    const { workflowId } = run;
    const channel = topic ?? DEFAULT_TOPIC;
    const deadline = await this.steps.runOperation(run, 'DBOS.recvDeadline', async () => this.clock.now() + timeoutMs);
    const signal = this.signalOf(run);
    return this.steps.runTake<T | null>(
      run,
      'DBOS.recv',
      async (at) => {
        const consumed = await this.communication.consumeInto(at, channel, run.epoch);
        return typeof consumed === 'string' ? consumed : { value: deserialize<T>(consumed.message) };
      },
      async () => {
        if (this.clock.now() >= deadline) return { value: null };
        // Looked once the wake-up is registered (a message sent since the take is not missed);
        // after a wake-up the take's statement looks again itself.
        let looked = false;
        await this.listener.waitUntil(
          [messageKey(workflowId)],
          async () => {
            if (looked) return true;
            looked = true;
            return (await this.communication.hasMessage(workflowId, channel)) ? true : undefined;
          },
          deadline,
          signal,
        );
        return undefined;
      },
    );
  }

  async setEvent(key: string, value: unknown): Promise<void> {
    const run = requireCurrentRun('DbosContext.setEvent()');
    const body = serializeWithin(value, `the value of event "${key}"`, this.deps.settings.maxPayloadBytes);
    // Committed by this call (not a replay, whose later steps may have set the key since): this
    // process's waiters have the value without reading it.
    if ((await this.steps.runSystemStatement(run, 'DBOS.setEvent', () => this.communication.setEventEffects(key, body))) === 'written') {
      const heard = this.communication.heardOf(run.workflowId, key, body);
      if (heard) this.listener.deliver(heard);
    }
  }

  async getEvent<T>(workflowId: string, key: string, timeoutMs: number): Promise<T | null> {
    const run = currentRun();
    if (!run) return this.waitForEvent<T>(workflowId, key, this.clock.now() + timeoutMs, this.signalOf(undefined));
    const deadline = await this.steps.runOperation(run, 'DBOS.getEventDeadline', async () => this.clock.now() + timeoutMs);
    return this.steps.runOperation(run, 'DBOS.getEvent', () => this.waitForEvent<T>(workflowId, key, deadline, this.signalOf(run)));
  }

  async waitForEvent<T>(workflowId: string, key: string, deadline: number, signal?: AbortSignal): Promise<T | null> {
    const found = await this.listener.waitUntil([eventKey(workflowId)], (heard) => this.communication.getEvent(workflowId, key, heard), deadline, signal);
    return found ? deserialize<T>(found.value) : null;
  }

  async writeStream(key: string, value: unknown): Promise<void> {
    await this.appendStream(
      'DbosContext.writeStream()',
      key,
      serializeWithin(value, `the value written to stream "${key}"`, this.deps.settings.maxPayloadBytes),
      false,
    );
  }

  async closeStream(key: string): Promise<void> {
    await this.appendStream('DbosContext.closeStream()', key, null, true);
  }

  private async appendStream(operation: string, key: string, value: string | null, closed: boolean): Promise<void> {
    const body = currentRun();
    if (body) {
      await this.steps.runSystemTransaction(body, closed ? 'DBOS.closeStream' : 'DBOS.writeStream', async (client, stepId) => {
        await this.communication.appendStream(client, body.workflowId, key, value, closed, stepId);
        return { value: undefined };
      });
      return;
    }
    const store = currentWorkflowContext();
    if (!store?.run.workflowId) throw new DbosError(`${operation} can only be called from a workflow or one of its steps.`);
    throwIfAttemptAbandoned();
    // From inside a step: written at once (a retried step may write again), tagged with the step's position.
    await this.communication.appendStream(undefined, store.run.workflowId, key, value, closed, store.stepId ?? null);
  }

  async runStep<T>(fn: () => T | Promise<T>, options: StepDecoratorOptions): Promise<T> {
    if (typeof fn !== 'function') throw new DbosInvalidArgumentError(`DbosContext.runStep(fn, options) needs a function as fn, got ${typeof fn}.`);
    const problem = stepOptionsProblem(options);
    if (problem) throw new DbosInvalidArgumentError(`DbosContext.runStep(fn, options): ${problem}.`);
    const name = options.name ?? (fn.name || 'runStep');
    const registration: StepRegistration = { kind: 'step', name, className: '', methodName: name, method: async () => fn(), options };
    return (await this.steps.runStep(registration, registration, [])) as T;
  }

  patched(name: string): Promise<boolean> {
    return patched(this.steps, name);
  }

  deprecatePatch(name: string): Promise<void> {
    return deprecatePatch(name);
  }

  async startWorkflow(type: Function, methodName: string, args: unknown[], options: StartWorkflowOptions): Promise<WorkflowHandle<unknown>> {
    const registration = this.deps.registry.getWorkflowOf(type, methodName);
    if (!registration) {
      throw new DbosNotFoundError(`${type.name}.${methodName} is not a registered workflow: decorate it with @Workflow().`);
    }
    const parent = currentRun();
    if (parent) return this.startChild(parent, registration, args, options);
    return this.deps.control.handle(await this.deps.executor.startWorkflow(registration, args, options));
  }

  /** From a workflow: one checkpointed operation holding the results (or the first failure). */
  async waitAll(handles: readonly WorkflowHandle<unknown>[]): Promise<unknown[]> {
    idsOf(handles, 'DbosContext.waitAll(handles)');
    const run = currentRun();
    const backend = this.deps.control.handles;
    if (!run) return waitAll(backend, handles, { signal: this.signalOf(undefined) });
    return this.steps.runOperation(run, 'DBOS.waitAll', () => waitAll(backend, handles, { signal: run.signal }));
  }

  /** From a workflow: the winner's id is checkpointed, so a recovered run picks the same handle. */
  async waitFirst(handles: readonly WorkflowHandle<unknown>[]): Promise<number> {
    const ids = idsOf(handles, 'DbosContext.waitFirst(handles)');
    const run = currentRun();
    const backend = this.deps.control.handles;
    if (!run) return waitFirstIndex(backend, handles, { signal: this.signalOf(undefined) });
    const winner = await this.steps.runOperation(run, 'DBOS.waitFirst', async () => ids[await waitFirstIndex(backend, handles, { signal: run.signal })]);
    const index = ids.indexOf(winner);
    if (index < 0) {
      throw new DbosError(
        `Workflow "${run.workflowId}" is not deterministic: waitFirst recorded "${winner}" as the first to finish, but it is not among the handles given now. Pass the same handles on every run.`,
      );
    }
    return index;
  }

  /** Calling a @Workflow method: run it durably and return its result (from a workflow: as a child). */
  async callWorkflow(registration: WorkflowRegistration, args: unknown[]): Promise<unknown> {
    const parent = currentRun();
    if (parent) {
      const handle = await this.startChild(parent, registration, args, {});
      return handle.getResult();
    }
    const workflowId = await this.deps.executor.startWorkflow(registration, args, {});
    return this.deps.control.localResult(workflowId) ?? this.deps.control.handle(workflowId).getResult();
  }

  /** A child workflow of the running workflow: deterministic id, checkpointed start and result. */
  private async startChild(
    parent: WorkflowRun,
    registration: WorkflowRegistration,
    args: unknown[],
    options: StartWorkflowOptions,
  ): Promise<WorkflowHandle<unknown>> {
    const { executor, control } = this.deps;
    const childId = await this.steps.runOperation(
      parent,
      'DBOS.startWorkflow',
      async (stepId) => {
        const workflowId = options.workflowId ?? `${parent.workflowId}-${stepId}`;
        await executor.startWorkflow(registration, args, { ...options, workflowId }, { parentWorkflowId: parent.workflowId, parentDeadline: parent.deadline });
        return workflowId;
      },
      { childWorkflowIdOf: (workflowId) => workflowId },
    );
    return new ChildWorkflowHandle(childId, control.handles, (name, read) => {
      const current = currentRun();
      return current ? this.steps.runOperation(current, name, read) : read();
    });
  }

  /** Waits end on cancellation of the workflow, or when the process stops taking work. */
  private signalOf(run: WorkflowRun | undefined): AbortSignal {
    return run ? run.signal : this.deps.runs.stopSignal;
  }
}

/** Inside a step attempt abandoned at its deadline (or cancelled): its signal's reason, so it writes nothing more through DbosContext. */
function throwIfAttemptAbandoned(): void {
  const signal = currentWorkflowContext()?.abortSignal;
  if (signal?.aborted) throw signal.reason;
}
