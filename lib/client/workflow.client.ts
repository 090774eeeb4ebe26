import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import type { StartWorkflowOptions } from '../interfaces/workflow-options.interface';
import type { ListWorkflowsOptions, StepInfo, WorkflowStatusInfo } from '../interfaces/workflow-status.interface';
import { CheckpointRepository } from '../system-database/checkpoint.repository';
import { SystemDatabase } from '../system-database/system-database';
import { WorkflowStatusRepository } from '../system-database/workflow-status.repository';
import { toStatusInfo, toStepInfo } from './status-info';
import { WorkflowHandle, type LocalResults } from './workflow.handle';

/** A class, by its constructor. */
export type ClassType<T = unknown> = abstract new (...args: never[]) => T;

/** `start(Type, options)` gives an object with the workflow methods of Type, each starting it and returning a handle. */
export type WorkflowStarter<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => Promise<unknown> ? K : never]: T[K] extends (
    ...args: infer A
  ) => Promise<infer R>
    ? (...args: A) => Promise<WorkflowHandle<R>>
    : never;
};

/** What the client needs of an in-process executor, when there is one. */
export interface LocalWorkflowRuntime extends LocalResults {
  start(type: ClassType, methodName: string, args: unknown[], options: StartWorkflowOptions): Promise<string>;
}

export interface WorkflowClientBackend {
  statuses: WorkflowStatusRepository;
  checkpoints: CheckpointRepository;
  local?: LocalWorkflowRuntime;
  close?: () => Promise<void>;
}

export interface WorkflowClientConnectOptions {
  database: { url: string; poolSize?: number };
  schema?: string;
}

/**
 * The outside door to workflows: start, await, inspect. Inject it in a Nest app, or use
 * `WorkflowClient.connect()` from any Node process.
 */
export class WorkflowClient {
  constructor(private readonly backend: WorkflowClientBackend) {}

  /** A client of its own, outside Nest. Close it with `close()`. */
  static async connect(options: WorkflowClientConnectOptions): Promise<WorkflowClient> {
    const db = await SystemDatabase.open({
      url: options.database.url,
      poolSize: options.database.poolSize ?? 4,
      schema: options.schema ?? 'dbos',
      runMigrations: false,
    });
    return new WorkflowClient({
      statuses: new WorkflowStatusRepository(db),
      checkpoints: new CheckpointRepository(db),
      close: () => db.close(),
    });
  }

  /** `await client.start(CheckoutService, { workflowId }).checkout(order)` returns a handle at once. */
  start<T>(type: ClassType<T>, options: StartWorkflowOptions = {}): WorkflowStarter<T> {
    return new Proxy({} as WorkflowStarter<T>, {
      get: (_target, methodName) => {
        if (typeof methodName !== 'string') return undefined;
        return async (...args: unknown[]) => {
          const local = this.backend.local;
          if (!local) {
            throw new DbosConfigurationError(
              `This client has no workflow classes (it was made with WorkflowClient.connect); start workflows by name with enqueue().`,
            );
          }
          const workflowId = await local.start(type as ClassType, methodName, args, options);
          return this.retrieve(workflowId);
        };
      },
    });
  }

  retrieve<R = unknown>(workflowId: string): WorkflowHandle<R> {
    return new WorkflowHandle<R>(workflowId, this.backend.statuses, this.backend.local);
  }

  async getStatus(workflowId: string): Promise<WorkflowStatusInfo | null> {
    return this.retrieve(workflowId).getStatus();
  }

  async list(options: ListWorkflowsOptions = {}): Promise<WorkflowStatusInfo[]> {
    const rows = await this.backend.statuses.list(options);
    return rows.map((row) => toStatusInfo(row, options.loadPayloads !== false));
  }

  async listSteps(workflowId: string): Promise<StepInfo[]> {
    const rows = await this.backend.checkpoints.loadAll(workflowId);
    if (rows.length === 0 && !(await this.backend.statuses.get(workflowId))) {
      throw new DbosNotFoundError(`No workflow has the id "${workflowId}".`);
    }
    return rows.map(toStepInfo);
  }

  async close(): Promise<void> {
    await this.backend.close?.();
  }
}
