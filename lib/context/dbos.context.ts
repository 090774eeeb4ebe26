import type { EntityManager } from 'typeorm';
import type { WorkflowHandle } from '../client/workflow.handle';
import { workflowStarter, type WorkflowStarter } from '../client/workflow.starter';
import type { ResultsOf } from '../fan-out/fan-out';
import { DEFAULT_WAIT_MS } from '../dbos.constants';
import { DbosError } from '../errors/dbos.error';
import type { StartWorkflowOptions, StepDecoratorOptions } from '../interfaces/workflow-options.interface';
import type { DbosRuntime } from './dbos-runtime.interface';
import { currentWorkflowContext } from './workflow-context.storage';

export interface WaitOptions {
  /** Give up after this long and return null. Default 60 000 ms. */
  timeoutMs?: number;
}

/**
 * The running workflow, seen from any provider: inject it anywhere, use it inside a workflow,
 * a step or a transaction. Every call made from a workflow is checkpointed, so a replay neither
 * repeats it nor sees a different answer.
 */
export class DbosContext {
  constructor(private readonly runtime: DbosRuntime) {}

  /** Id of the running workflow, or undefined outside one. */
  get workflowId(): string | undefined {
    return currentWorkflowContext()?.run.workflowId || undefined;
  }

  /**
   * Aborted when the running workflow is cancelled or times out, and inside a step with
   * `timeoutMs` also at the deadline of the running attempt: pass it to fetch() and friends.
   */
  get abortSignal(): AbortSignal | undefined {
    const store = currentWorkflowContext();
    return store?.abortSignal ?? store?.run.abortSignal;
  }

  /** The TypeORM EntityManager of the running `@Transaction` (TypeORM, the default; with another ORM use `tx()`). */
  get entityManager(): EntityManager {
    const store = currentWorkflowContext();
    if (!store?.entityManager) {
      throw new DbosError(
        store?.tx !== undefined
          ? 'DbosContext.entityManager is the TypeORM transaction; @Transaction methods run on another ORM here (the `transactions` option): use dbos.tx<T>().'
          : 'DbosContext.entityManager is only available inside a @Transaction method.',
      );
    }
    return store.entityManager;
  }

  /**
   * The running `@Transaction`'s transaction object, as the ORM of the `transactions` option hands
   * it: `dbos.tx<Knex.Transaction>()`, `dbos.tx<Prisma.TransactionClient>()`, a Drizzle
   * transaction, a MikroORM `EntityManager`, or TypeORM's `EntityManager` by default. `T` is not
   * checked: name the type of the ORM the module was given.
   */
  tx<T>(): T {
    const tx = currentWorkflowContext()?.tx;
    if (tx === undefined) throw new DbosError('DbosContext.tx() is only available inside a @Transaction method.');
    return tx as T;
  }

  /** The current time (epoch ms); inside a workflow it is checkpointed. */
  now(): Promise<number> {
    return this.runtime.now();
  }

  /** A random UUID; inside a workflow it is checkpointed. */
  randomUUID(): Promise<string> {
    return this.runtime.randomUUID();
  }

  /** Durable sleep: the wake-up time is recorded, so after a restart it wakes at the original deadline. */
  sleep(ms: number): Promise<void> {
    return this.runtime.sleepUntil({ durationMs: ms });
  }

  sleepUntil(date: Date | number): Promise<void> {
    return this.runtime.sleepUntil(typeof date === 'number' ? date : date.getTime());
  }

  /** Sends a message to a workflow; exactly once from a workflow. */
  send(workflowId: string, message: unknown, topic?: string): Promise<void> {
    return this.runtime.send(workflowId, message, topic);
  }

  /** The oldest unconsumed message on the topic (FIFO), or null at the timeout. Only inside a workflow. */
  recv<T = unknown>(topic?: string, options: WaitOptions = {}): Promise<T | null> {
    return this.runtime.recv<T>(topic, options.timeoutMs ?? DEFAULT_WAIT_MS);
  }

  /** Publishes the latest value of a key of this workflow. */
  setEvent(key: string, value: unknown): Promise<void> {
    return this.runtime.setEvent(key, value);
  }

  /** The latest value of a workflow's event, waiting for it to be set; null at the timeout. */
  getEvent<T = unknown>(workflowId: string, key: string, options: WaitOptions = {}): Promise<T | null> {
    return this.runtime.getEvent<T>(workflowId, key, options.timeoutMs ?? DEFAULT_WAIT_MS);
  }

  /** Appends a value to this workflow's stream `key`. */
  writeStream(key: string, value: unknown): Promise<void> {
    return this.runtime.writeStream(key, value);
  }

  /** Closes this workflow's stream `key`: readers end after its last value. */
  closeStream(key: string): Promise<void> {
    return this.runtime.closeStream(key);
  }

  /**
   * Runs `fn` as a step of the running workflow, for code that cannot carry `@Step` (a
   * third-party client's call, a closure): checkpointed, retried (`options.retries`) and given a
   * deadline per attempt (`options.timeoutMs`) like a `@Step`, so a recovered or replayed workflow gets the recorded result without calling it again.
   * `options.name` is the step's recorded name (default: the function's name, else `runStep`).
   * Outside a workflow, or inside a step, `fn` simply runs.
   */
  runStep<T>(fn: () => T | Promise<T>, options: StepDecoratorOptions = {}): Promise<T> {
    return this.runtime.runStep(fn, options);
  }

  /**
   * True where this run takes the code path added under patch `name`: always in new runs (a
   * marker is recorded), and in a recovered or replayed run only where its record took it. Only
   * in a @Workflow body.
   */
  patched(name: string): Promise<boolean> {
    return this.runtime.patched(name);
  }

  /** Retires patch `name` (its old path deleted): runs recorded while it was checked still line up. Only in a @Workflow body. */
  deprecatePatch(name: string): Promise<void> {
    return this.runtime.deprecatePatch(name);
  }

  /**
   * The results of the workflows of `handles` (children started with `startWorkflow`, or any
   * handles), in their order, waited for together with one waiter over the set. Rejects as soon as
   * one is known to have failed, with the error its `getResult()` would throw. In a workflow it is
   * one checkpointed operation: a recovered or replayed workflow gets the recorded results (or
   * error) without waiting again. See docs/fan-out.md.
   */
  waitAll<const T extends readonly WorkflowHandle<unknown>[]>(handles: T): Promise<ResultsOf<T>> {
    return this.runtime.waitAll(handles) as Promise<ResultsOf<T>>;
  }

  /**
   * The first of `handles` whose workflow finishes (in success or failure): the same handle object.
   * In a workflow the winner is checkpointed, so after a recovery it is the same one.
   */
  async waitFirst<H extends WorkflowHandle<unknown>>(handles: readonly H[]): Promise<H> {
    return handles[await this.runtime.waitFirst(handles)];
  }

  /** Starts a workflow; from a workflow it is a child, its start and its result checkpointed. */
  startWorkflow<T>(type: abstract new (...args: never[]) => T, options: StartWorkflowOptions = {}): WorkflowStarter<T> {
    return workflowStarter<T>((methodName, args) => this.runtime.startWorkflow(type, methodName, args, options));
  }
}
