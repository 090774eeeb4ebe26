import { Client } from 'pg';
import { notificationChannel } from '../../lib/system-database/schema-name.util';
import { SystemDatabase } from '../../lib/system-database/system.database';
import { createRepositories, type SystemRepositories } from '../../lib/system-database/system.repositories';
import type { NewWorkflowRow } from '../../lib/system-database/run-lifecycle.repository';
import type { OperationOutputRow } from '../../lib/system-database/system.rows';
import { databaseUrl, dropSchema, uniqueSchema } from './database';

/** The repositories over a freshly migrated schema of their own, without Nest. */
export interface RepositoryFixture {
  schema: string;
  db: SystemDatabase;
  repos: SystemRepositories;
  close(): Promise<void>;
}

export async function openRepositories(prefix: string): Promise<RepositoryFixture> {
  const schema = uniqueSchema(prefix);
  const db = await SystemDatabase.open({ url: databaseUrl(), schema, runMigrations: true });
  return {
    schema,
    db,
    repos: createRepositories(db),
    close: async () => {
      await db.close();
      await dropSchema(schema);
    },
  };
}

/** A status row as a start writes it: PENDING on `executorId` (or ENQUEUED on a queue), created `createdAt`. */
export function newRow(workflowId: string, fields: Partial<NewWorkflowRow> = {}): NewWorkflowRow {
  const now = fields.createdAt ?? Date.now();
  return {
    workflowId,
    status: fields.queueName ? 'ENQUEUED' : 'PENDING',
    workflowName: 'Repo.run',
    className: 'Repo',
    inputs: '[]',
    executorId: fields.queueName ? null : 'exec-a',
    applicationVersion: 'v1',
    queueName: null,
    priority: 0,
    deduplicationId: null,
    partitionKey: null,
    delayUntil: null,
    timeoutMs: null,
    deadline: null,
    parentWorkflowId: null,
    forkedFrom: null,
    traceContext: null,
    attributes: null,
    startedAt: fields.queueName ? null : now,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** A successful step's checkpoint at `stepId` of a workflow. */
export function stepRow(workflowId: string, stepId: number): OperationOutputRow {
  return { workflowId, stepId, stepName: `step${stepId}`, output: '"done"', error: null, childWorkflowId: null, startedAt: 1, completedAt: 2 };
}

/** The messages on a schema's notification channel, heard on a connection of its own. */
export async function listenTo(schema: string): Promise<{ messages: string[]; close(): Promise<void> }> {
  const client = new Client({ connectionString: databaseUrl() });
  await client.connect();
  const messages: string[] = [];
  client.on('notification', (n) => messages.push(n.payload ?? ''));
  await client.query(`LISTEN ${notificationChannel(schema)}`);
  return { messages, close: () => client.end() };
}
