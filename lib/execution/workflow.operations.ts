import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '../client/workflow.handle';
import { delay } from '../common/delay.util';
import type { DbosRuntime } from '../context/dbos-runtime.interface';
import { currentWorkflowContext } from '../context/workflow-context.storage';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import { DbosError } from '../errors/dbos.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import { deserialize } from '../serialization/value.codec';
import type { CommunicationRepository } from '../system-database/communication.repository';
import type { NotificationListener } from '../system-database/notification.listener';
import type { Queryable } from '../system-database/queryable.interface';
import { requireWorkflowBody, workflowBodyStore, type ExecutionState } from './execution.state';
import { serializeWithin } from '../workflow/workflow.limits';
import { interruption } from './interruption.util';
import type { LeaseGate } from './lease.gate';
import type { WorkflowExecutor } from './workflow.executor';
import { deprecatePatch, patched } from './workflow.patches';

export const DEFAULT_TOPIC = '';

/**
 * The DbosContext calls: durable time, messages, events, streams, child workflows. From a
 * workflow body each is a checkpointed operation; outside one, what makes sense still works.
 */
export class WorkflowOperations implements DbosRuntime {
  constructor(
    private readonly executor: WorkflowExecutor,
    private readonly gate: LeaseGate,
    private readonly registry: WorkflowRegistry,
    private readonly communication: CommunicationRepository,
    private readonly listener: NotificationListener,
  ) {}

  private get steps() {
    return this.executor.steps;
  }

  async now(): Promise<number> {
    const store = workflowBodyStore();
    return store ? this.steps.runOperation(store, 'DBOS.now', async () => Date.now()) : Date.now();
  }

  async randomUUID(): Promise<string> {
    const store = workflowBodyStore();
    return store ? this.steps.runOperation(store, 'DBOS.randomUUID', async () => randomUUID()) : randomUUID();
  }

  /** The wake-up time is the recorded checkpoint: a replay after a restart waits for the original deadline. */
  async sleepUntil(target: number | { durationMs: number }): Promise<void> {
    const store = workflowBodyStore();
    const wakeAt = () => (typeof target === 'number' ? target : Date.now() + target.durationMs);
    if (!store) return delay(wakeAt() - Date.now(), this.signalOf(undefined));
    const deadline = await this.steps.runOperation(store, 'DBOS.sleep', async () => wakeAt());
    if (store.run.replayOnly) return; // a replay check waits for nothing
    const waitMs = deadline - Date.now();
    await delay(waitMs, this.signalOf(store.run)).catch((err: unknown) => {
      throw interruption(store.run, err);
    });
    // A long sleep touched no database: confirm the run still owns the workflow before its next step.
    // (A short one is covered by the step gate: adoption needs this executor silent for a whole lease.)
    if (waitMs > this.executor.settings.executorLeaseMs / 2) await this.gate.confirmOwnership(store.run, true);
  }

  async send(destinationId: string, message: unknown, topic: string | undefined): Promise<void> {
    const body = serializeWithin(message, 'the message', this.executor.settings.maxPayloadBytes);
    const store = workflowBodyStore();
    const send = async (messageId: string, client?: Queryable) => {
      const result = await this.communication.send(client, { messageId, destinationId, topic: topic ?? DEFAULT_TOPIC, message: body });
      if (result === 'not-found') {
        throw new DbosNotFoundError(`Cannot send to workflow "${destinationId}": no workflow has that id.`);
      }
    };
    if (!store) return send(randomUUID());
    await this.steps.runSystemTransaction(store, 'DBOS.send', async (client, stepId) => {
      // The id is the sender's position, so even a repeated attempt delivers once.
      await send(`${store.run.workflowId}:${stepId}`, client);
      return { value: undefined };
    });
  }

  /** The message is consumed in the same transaction that records the recv: never lost, never twice. */
  async recv<T>(topic: string | undefined, timeoutMs: number): Promise<T | null> {
    const store = requireWorkflowBody('DbosContext.recv()');
    const { workflowId } = store.run;
    const channel = topic ?? DEFAULT_TOPIC;
    const deadline = await this.steps.runOperation(store, 'DBOS.recvDeadline', async () => Date.now() + timeoutMs);
    const signal = this.signalOf(store.run);
    return this.steps.runSystemTransaction<T | null>(
      store,
      'DBOS.recv',
      async (client) => {
        const consumed = await this.communication.consumeOldest(client, workflowId, channel);
        if (consumed) return { value: deserialize<T>(consumed.message) };
        return Date.now() >= deadline ? { value: null } : undefined;
      },
      async () => {
        await this.listener.waitUntil(
          [`msg:${workflowId}`],
          async () => ((await this.communication.hasMessage(workflowId, channel)) ? true : undefined),
          deadline,
          signal,
        );
        return true;
      },
    );
  }

  async setEvent(key: string, value: unknown): Promise<void> {
    const store = requireWorkflowBody('DbosContext.setEvent()');
    const body = serializeWithin(value, `the value of event "${key}"`, this.executor.settings.maxPayloadBytes);
    await this.steps.runSystemTransaction(store, 'DBOS.setEvent', async (client, stepId) => {
      await this.communication.setEvent(client, store.run.workflowId, stepId, key, body);
      return { value: undefined };
    });
  }

  async getEvent<T>(workflowId: string, key: string, timeoutMs: number): Promise<T | null> {
    const store = workflowBodyStore();
    if (!store) return this.waitForEvent<T>(workflowId, key, Date.now() + timeoutMs, this.signalOf(undefined));
    const deadline = await this.steps.runOperation(store, 'DBOS.getEventDeadline', async () => Date.now() + timeoutMs);
    return this.steps.runOperation(store, 'DBOS.getEvent', () => this.waitForEvent<T>(workflowId, key, deadline, this.signalOf(store.run)));
  }

  async waitForEvent<T>(workflowId: string, key: string, deadline: number, signal?: AbortSignal): Promise<T | null> {
    const found = await this.listener.waitUntil([`evt:${workflowId}`], () => this.communication.getEvent(workflowId, key), deadline, signal);
    return found ? deserialize<T>(found.value) : null;
  }

  async writeStream(key: string, value: unknown): Promise<void> {
    await this.appendStream(
      'DbosContext.writeStream()',
      key,
      serializeWithin(value, `the value written to stream "${key}"`, this.executor.settings.maxPayloadBytes),
      false,
    );
  }

  async closeStream(key: string): Promise<void> {
    await this.appendStream('DbosContext.closeStream()', key, null, true);
  }

  private async appendStream(operation: string, key: string, value: string | null, closed: boolean): Promise<void> {
    const body = workflowBodyStore();
    if (body) {
      await this.steps.runSystemTransaction(body, closed ? 'DBOS.closeStream' : 'DBOS.writeStream', async (client, stepId) => {
        await this.communication.appendStream(client, body.run.workflowId, key, value, closed, stepId);
        return { value: undefined };
      });
      return;
    }
    const store = currentWorkflowContext();
    if (!store?.run.workflowId) throw new DbosError(`${operation} can only be called from a workflow or one of its steps.`);
    // From inside a step: written at once (a retried step may write again), tagged with the step's position.
    await this.communication.appendStream(undefined, store.run.workflowId, key, value, closed, store.stepId ?? null);
  }

  patched(name: string): Promise<boolean> {
    return patched(this.steps, name);
  }

  deprecatePatch(name: string): Promise<void> {
    return deprecatePatch(name);
  }

  async startWorkflow(type: Function, methodName: string, args: unknown[], options: StartWorkflowOptions): Promise<WorkflowHandle<unknown>> {
    const registration = this.registry.getWorkflowOf(type, methodName);
    if (!registration) {
      throw new DbosNotFoundError(`${type.name}.${methodName} is not a registered workflow: decorate it with @Workflow().`);
    }
    if (workflowBodyStore()) return this.executor.startChild(registration, args, options);
    return this.executor.handle(await this.executor.startWorkflow(registration, args, options));
  }

  /** Waits end on cancellation of the workflow, or when the process stops taking work. */
  private signalOf(state: ExecutionState | undefined): AbortSignal {
    return state ? state.signal : this.executor.stopSignal;
  }
}
