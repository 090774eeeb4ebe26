import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { DbosError } from '../errors/dbos.error';
import { currentWorkflowContext, type WorkflowContextStore } from './workflow-context.storage';

/**
 * The running workflow, seen from any provider: inject it anywhere, use it inside a workflow,
 * a step or a transaction. Values that differ between runs (time, ids) are checkpointed, so a
 * replay sees the values of the first run.
 */
export class DbosContext {
  /** Id of the running workflow, or undefined outside one. */
  get workflowId(): string | undefined {
    return currentWorkflowContext()?.run.workflowId || undefined;
  }

  /** The TypeORM EntityManager of the running `@Transaction`. */
  get entityManager(): EntityManager {
    const manager = currentWorkflowContext()?.entityManager;
    if (!manager) {
      throw new DbosError('DbosContext.entityManager is only available inside a @Transaction method.');
    }
    return manager;
  }

  /** The current time; inside a workflow it is checkpointed. */
  async now(): Promise<number> {
    const store = this.workflowStore();
    if (!store) return Date.now();
    return store.runtime.runOperation('DBOS.now', async () => Date.now());
  }

  /** A random UUID; inside a workflow it is checkpointed. */
  async randomUUID(): Promise<string> {
    const store = this.workflowStore();
    if (!store) return randomUUID();
    return store.runtime.runOperation('DBOS.randomUUID', async () => randomUUID());
  }

  /** The workflow store, unless we are outside a workflow or inside a step (where nothing is checkpointed). */
  protected workflowStore(): WorkflowContextStore | undefined {
    const store = currentWorkflowContext();
    return store && store.stepName === undefined ? store : undefined;
  }
}
