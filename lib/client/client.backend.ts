import { DEFAULT_SCHEMA } from '../dbos.constants';
import { createPayloadCodec } from '../payloads/payload.codec';
import type { NotificationListener } from '../system-database/notification.listener';
import { routingOf } from '../system-database/connection.options';
import { SystemDatabase } from '../system-database/system.database';
import { createListener, createRepositories, type SystemRepositories } from '../system-database/system.repositories';
import type { WorkflowClientConnectOptions } from './client-options.interface';
import type { LocalWorkflowRuntime } from './workflow.admin';

/** @internal What a WorkflowClient works on: the module's repositories (the Nest provider), or a connection of its own (`connect`). */
export interface WorkflowClientBackend extends Omit<SystemRepositories, 'scheduler' | 'executors' | 'recovery'> {
  listener: NotificationListener;
  /** The system database itself: statements in an app's transaction (`entityManager`) run through it. */
  system: SystemDatabase;
  local?: LocalWorkflowRuntime;
  close?: () => Promise<void>;
}

/** @internal The connection of `WorkflowClient.connect()`: its own pool (4 connections by default) and LISTEN connection, closed with the client. */
export async function openClientBackend(options: WorkflowClientConnectOptions): Promise<WorkflowClientBackend> {
  const system = await SystemDatabase.open({
    url: options.database.url,
    poolSize: options.database.poolSize ?? 4,
    schema: options.schema ?? DEFAULT_SCHEMA,
    runMigrations: false,
    startupRetryMs: options.database.startupRetryMs,
    applicationName: options.database.applicationName ?? 'nestjs-dbos:client',
    ...routingOf(options.database),
    payloads: options.payloadCodec ?? createPayloadCodec({ serializer: options.serializer, encryption: options.encryption }),
  });
  const listener = createListener(system, console);
  await listener.start();
  return {
    ...createRepositories(system),
    listener,
    system,
    close: async () => {
      await listener.close();
      await system.close();
    },
  };
}
