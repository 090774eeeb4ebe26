import { randomBytes } from 'node:crypto';
import { Injectable, Module, type INestApplication, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types';
import {
  DbosConfigurationError,
  DbosContext,
  DbosDashboardModule,
  DbosModule,
  Step,
  Workflow,
  WorkflowClient,
  type PayloadEncryptionOptions,
  type PayloadSerializer,
} from '../../lib';
import { ChildApp } from '../support/child-app';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

const SECRET = 'PLAINTEXT-MARKER';
const keyA = randomBytes(32);
const keyB = randomBytes(32).toString('base64');

class CardDeclined extends Error {
  constructor(readonly card: string) {
    super(`${SECRET} card ${card} declined`);
    this.name = 'CardDeclined';
  }
}

@Injectable()
class Vault {
  constructor(private readonly dbos: DbosContext) {}

  @Step() async lookUp(name: string): Promise<{ secret: string }> {
    return { secret: `${SECRET}-step-${name}` };
  }

  @Step() async failing(): Promise<void> {
    throw new CardDeclined(`${SECRET}-step-error`);
  }

  /** Its failed attempts are kept for the dashboard's timeline (step_attempts), errors and all. */
  @Step({ retries: { maxAttempts: 2, intervalMs: 1 } }) async retried(): Promise<void> {
    throw new CardDeclined(`${SECRET}-attempt-error`);
  }

  /** Input, a step result, a step error, a message, an event, a stream value, an output. */
  @Workflow() async everything(name: string): Promise<string> {
    const looked = await this.lookUp(name);
    await this.failing().catch(() => undefined);
    await this.retried().catch(() => undefined);
    await this.dbos.setEvent('secret', `${SECRET}-event`);
    await this.dbos.writeStream('feed', `${SECRET}-stream`);
    await this.dbos.closeStream('feed');
    const message = await this.dbos.recv<string>('inbox', { timeoutMs: 20_000 });
    return `${looked.secret}|${message}|${SECRET}-output`;
  }

  @Workflow() async fails(card: string): Promise<void> {
    throw new CardDeclined(card);
  }

  @Workflow() async echo(value: unknown): Promise<unknown> {
    return value;
  }
}

/** Every text, json, jsonb and bytea column of every table of the schema, with its type. */
async function payloadCapableColumns(schema: string): Promise<{ table: string; column: string; type: string }[]> {
  const rows = await sql<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'
      WHERE c.table_schema = $1 AND c.data_type IN ('text', 'json', 'jsonb', 'bytea', 'character varying', 'ARRAY')`,
    [schema],
  );
  return rows.map((r) => ({ table: r.table_name, column: r.column_name, type: r.data_type }));
}

/** `table.column` of every cell of the schema that contains `needle` (bytea read as its bytes, not as hex). */
async function cellsContaining(schema: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const { table, column, type } of await payloadCapableColumns(schema)) {
    const text = type === 'bytea' ? `encode("${column}", 'escape')` : `"${column}"::text`;
    const rows = await sql(`SELECT count(*)::int AS n FROM "${schema}"."${table}" WHERE position($1 in ${text}) > 0`, [needle]);
    if (Number(rows[0].n) > 0) found.push(`${table}.${column}`);
  }
  return found;
}

describe('payloads at rest', () => {
  const schemas: string[] = [];
  const apps: INestApplicationContext[] = [];
  const clients: WorkflowClient[] = [];

  async function app(schema: string, options: Parameters<typeof createDbosApp>[1] extends infer O ? Omit<O, 'schema'> : never) {
    const created = await createDbosApp([Vault], { schema, ...options });
    apps.push(created);
    return created;
  }

  async function connect(schema: string, options: Omit<Parameters<typeof WorkflowClient.connect>[0], 'database' | 'schema'> = {}) {
    const client = await WorkflowClient.connect({ database: { url: databaseUrl() }, schema, ...options });
    clients.push(client);
    return client;
  }

  function newSchema(prefix: string): string {
    const schema = uniqueSchema(prefix);
    schemas.push(schema);
    return schema;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const a of apps.splice(0)) await a.close();
  });

  afterAll(async () => {
    for (const schema of schemas) await dropSchema(schema);
  });

  it('stores no plaintext payload in any column of any system table, and the app reads everything back', async () => {
    const schema = newSchema('enc');
    const a = await app(schema, { encryption: { key: keyA }, queues: [{ name: 'payloads' }] });
    const client = a.get(WorkflowClient);
    const handle = await client.start(Vault, { workflowId: 'enc-1' }).everything(`${SECRET}-input`);
    await waitFor(async () => (await client.getEvent('enc-1', 'secret', { timeoutMs: 0 })) !== null, { what: 'the event' });
    await client.send('enc-1', `${SECRET}-message`, 'inbox');
    expect(await handle.getResult()).toBe(`${SECRET}-step-${SECRET}-input|${SECRET}-message|${SECRET}-output`);
    const failed = await client.start(Vault, { workflowId: 'enc-2' }).fails(`${SECRET}-card`);
    await expect(failed.getResult()).rejects.toMatchObject({ name: 'CardDeclined', card: `${SECRET}-card` });
    // A message still unread (it stays in the notifications table).
    await client.send('enc-2', `${SECRET}-unread`, 'later');

    expect(await cellsContaining(schema, SECRET)).toEqual([]);
    const columns = (await payloadCapableColumns(schema)).map((c) => `${c.table}.${c.column}`);
    expect(columns).toEqual(expect.arrayContaining(['workflow_status.inputs', 'operation_outputs.output', 'notifications.message', 'streams.value']));
    // What is stored is recognizably encrypted, with the key's id.
    const [stored] = await sql<{ inputs: string; output: string; error: string | null }>(
      `SELECT inputs, output FROM "${schema}".workflow_status WHERE workflow_id = 'enc-1'`,
    );
    expect(stored.inputs).toMatch(/^dbos:enc:v1:[0-9a-f]{8}:/);
    expect(stored.output).toMatch(/^dbos:enc:v1:[0-9a-f]{8}:/);

    expect(await client.getEvent('enc-1', 'secret')).toBe(`${SECRET}-event`);
    const streamed: unknown[] = [];
    for await (const value of client.readStream('enc-1', 'feed')) streamed.push(value);
    expect(streamed).toEqual([`${SECRET}-stream`]);
    const steps = await client.listSteps('enc-1');
    expect(steps[0].output).toEqual({ secret: `${SECRET}-step-${SECRET}-input` });
    expect(steps[1].error).toMatchObject({ name: 'CardDeclined', message: expect.stringContaining(SECRET) });
    const status = await client.getStatus('enc-1', { loadPayloads: true });
    expect(status).toMatchObject({ input: [`${SECRET}-input`], output: expect.stringContaining(`${SECRET}-output`) });
    expect((await client.getStatus('enc-2', { loadPayloads: true }))?.error).toMatchObject({ name: 'CardDeclined' });
    const listed = await client.list({ workflowIdPrefix: 'enc-' });
    expect(listed.map((w) => w.input)).toEqual([[`${SECRET}-input`], [`${SECRET}-card`]]);

    // A standalone client with the key reads them; without it, or with another key, it says which key is missing.
    const withKey = await connect(schema, { encryption: { key: keyA.toString('base64') } });
    expect(await withKey.retrieve('enc-1').getResult()).toContain(`${SECRET}-output`);
    expect(await withKey.getEvent('enc-1', 'secret')).toBe(`${SECRET}-event`);
    const keyIdA = stored.inputs.split(':')[3];
    const withoutKey = await connect(schema);
    await expect(withoutKey.retrieve('enc-1').getResult()).rejects.toThrow(new RegExp(`encrypted \\(key ${keyIdA}\\) and no encryption key is configured`));
    const otherKey = await connect(schema, { encryption: { key: keyB } });
    const wrong = otherKey.getEvent('enc-1', 'secret');
    await expect(wrong).rejects.toBeInstanceOf(DbosConfigurationError);
    await expect(otherKey.getEvent('enc-1', 'secret')).rejects.toThrow(new RegExp(`encrypted with key ${keyIdA}, which is not configured.*previousKeys`));

    // A client with the key writes encrypted too.
    await withKey.enqueue({ workflowName: 'Vault.echo', queue: 'payloads', workflowId: 'enc-3' }, `${SECRET}-from-client`);
    expect(await withKey.retrieve('enc-3').getResult()).toBe(`${SECRET}-from-client`);
    expect(await cellsContaining(schema, SECRET)).toEqual([]);

    // The CLI shows encrypted payloads as [encrypted] without the key, and reads them with it.
    const shown = await runCli(['workflows', 'get', 'enc-1', '--schema', schema]);
    expect(shown.stdout).toMatch(/Input:\s+"\[encrypted\]"/);
    expect(shown.stdout).toMatch(/Output:\s+"\[encrypted\]"/);
    expect(shown.stdout).not.toContain(SECRET);
    const stepsShown = await runCli(['workflows', 'steps', 'enc-1', '--schema', schema]);
    expect(stepsShown.stdout).toContain('[encrypted]');
    const read = await runCli(['workflows', 'get', 'enc-1', '--schema', schema], { DBOS_ENCRYPTION_KEY: keyA.toString('base64') });
    expect(read.stdout).toContain(`${SECRET}-input`);
  });

  it('stores the flow-control payloads encrypted too: the arguments of a debounced call and of a runtime schedule, results read by waitAll and waitFirst', async () => {
    const schema = newSchema('encflow');
    const a = await app(schema, { encryption: { key: keyA }, queues: [{ name: 'payloads' }] });
    const client = a.get(WorkflowClient);
    const debounced = await client.debounce('k1', { periodMs: 1_000 }, Vault).echo(`${SECRET}-debounced-1`);
    await client.debounce('k1', { periodMs: 1_000 }, Vault).echo(`${SECRET}-debounced-2`);
    const started = await Promise.all([1, 2].map((i) => client.start(Vault, { queue: 'payloads' }).echo(`${SECRET}-child-${i}`)));
    expect(await client.waitAll([debounced, ...started])).toEqual([`${SECRET}-debounced-2`, `${SECRET}-child-1`, `${SECRET}-child-2`]);
    expect((await client.waitFirst(started)).workflowId).toEqual(expect.any(String));
    // A runtime schedule's arguments, stored and in the tick it starts.
    await client.schedules.create({ name: 'nightly', cron: '0 3 * * *', workflowName: 'Vault.echo', args: [`${SECRET}-scheduled`], queue: 'payloads' });
    expect((await client.schedules.get('nightly'))!.args).toEqual([`${SECRET}-scheduled`]);
    const tick = await client.schedules.trigger('nightly');
    expect(await client.retrieve(tick).getResult()).toBeInstanceOf(Date); // echo returns its first argument, the scheduled time
    expect(await cellsContaining(schema, SECRET)).toEqual([]);
  });

  it('rotates keys: rows of the previous key stay readable, new rows take the new key', async () => {
    const schema = newSchema('rot');
    const first = await app(schema, { encryption: { key: keyA } });
    await first.get(WorkflowClient).start(Vault, { workflowId: 'rot-old' }).echo({ when: 'before', secret: SECRET });
    expect(await first.get(WorkflowClient).retrieve('rot-old').getResult()).toEqual({ when: 'before', secret: SECRET });
    await first.close();
    apps.splice(apps.indexOf(first), 1);

    const second = await app(schema, { encryption: { key: keyB, previousKeys: [keyA] } });
    const client = second.get(WorkflowClient);
    expect(await client.retrieve('rot-old').getResult()).toEqual({ when: 'before', secret: SECRET });
    expect(await (await client.start(Vault, { workflowId: 'rot-new' }).echo('after')).getResult()).toBe('after');
    const rows = await sql<{ workflow_id: string; output: string }>(`SELECT workflow_id, output FROM "${schema}".workflow_status ORDER BY workflow_id`);
    const keyIds = rows.map((r) => r.output.split(':')[3]);
    expect(keyIds[0]).not.toBe(keyIds[1]);
    // A reader with only the old key cannot read the new row, and says which key it lacks.
    const old = await connect(schema, { encryption: { key: keyA } });
    await expect(old.retrieve('rot-new').getResult()).rejects.toThrow(`encrypted with key ${keyIds[0]}, which is not configured`);
    expect(await old.retrieve('rot-old').getResult()).toEqual({ when: 'before', secret: SECRET });
  });

  it('reads rows written before encryption was turned on, and args given in plaintext to the enqueue_workflow SQL function', async () => {
    const schema = newSchema('legacy');
    const plain = await app(schema, {});
    expect(await (await plain.get(WorkflowClient).start(Vault, { workflowId: 'legacy-1' }).echo('plain')).getResult()).toBe('plain');
    await plain.close();
    apps.splice(apps.indexOf(plain), 1);

    const encrypted = await app(schema, { encryption: { key: keyA }, queues: [{ name: 'sql' }] });
    const client = encrypted.get(WorkflowClient);
    expect(await client.retrieve('legacy-1').getResult()).toBe('plain');
    await sql(`SELECT "${schema}".enqueue_workflow('Vault.echo', 'sql', '["from sql"]'::json, 'legacy-sql')`);
    expect(await client.retrieve('legacy-sql').getResult()).toBe('from sql');
    const [row] = await sql<{ inputs: string; output: string }>(`SELECT inputs, output FROM "${schema}".workflow_status WHERE workflow_id = 'legacy-sql'`);
    expect(row.inputs).toBe('["from sql"]');
    expect(row.output).toMatch(/^dbos:enc:v1:/);
  });

  it('round-trips through an async serializer, for every payload, and encrypts what it writes', async () => {
    const schema = newSchema('ser');
    let calls = 0;
    const serializer: PayloadSerializer = {
      async serialize(value) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        calls++;
        return `v1:${Buffer.from(JSON.stringify({ wrapped: value })).toString('hex')}`;
      },
      async deserialize(text) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return (JSON.parse(Buffer.from(text.slice(3), 'hex').toString()) as { wrapped: unknown }).wrapped;
      },
    };
    const a = await app(schema, { serializer });
    const client = a.get(WorkflowClient);
    const handle = await client.start(Vault, { workflowId: 'ser-1' }).everything('x');
    await waitFor(async () => (await client.getEvent('ser-1', 'secret', { timeoutMs: 0 })) !== null, { what: 'the event' });
    await client.send('ser-1', 'hello', 'inbox');
    expect(await handle.getResult()).toBe(`${SECRET}-step-x|hello|${SECRET}-output`);
    expect(calls).toBeGreaterThan(4);
    const [row] = await sql<{ inputs: string; output: string }>(`SELECT inputs, output FROM "${schema}".workflow_status WHERE workflow_id = 'ser-1'`);
    expect(row.inputs).toBe(`dbos:ser:v1:${Buffer.from(JSON.stringify({ wrapped: ['x'] })).toString('hex')}`);
    // Every value went through it; errors keep the built-in form (class name, message, fields), readable without it.
    expect(await cellsContaining(schema, SECRET)).toEqual(['operation_outputs.error', 'step_attempts.error']);
    // A client with the same serializer reads it; one without says so.
    expect(await (await connect(schema, { serializer })).getEvent('ser-1', 'secret')).toBe(`${SECRET}-event`);
    await expect((await connect(schema)).getEvent('ser-1', 'secret')).rejects.toThrow('written by a custom serializer and none is configured');

    const both = newSchema('serenc');
    const b = await app(both, { serializer, encryption: { key: keyA } });
    expect(await (await b.get(WorkflowClient).start(Vault, { workflowId: 'se-1' }).echo({ secret: SECRET })).getResult()).toEqual({ secret: SECRET });
    const [enc] = await sql<{ output: string }>(`SELECT output FROM "${both}".workflow_status WHERE workflow_id = 'se-1'`);
    expect(enc.output).toMatch(/^dbos:enc:v1:/);
    expect(await cellsContaining(both, SECRET)).toEqual([]);
  });

  it('the dashboard shows payloads with the key, and [encrypted] in an app without it', async () => {
    const schema = newSchema('dash');
    const a = await app(schema, { encryption: { key: keyA } });
    const client = a.get(WorkflowClient);
    const handle = await client.start(Vault, { workflowId: 'dash-1' }).everything(`${SECRET}-input`);
    await waitFor(async () => (await client.getEvent('dash-1', 'secret', { timeoutMs: 0 })) !== null, { what: 'the event' });
    await client.send('dash-1', `${SECRET}-message`, 'inbox');
    await handle.getResult();
    await client.send('dash-1', `${SECRET}-unread`, 'later');

    const withKey = await dashboardApp(schema, { key: keyA });
    const shown = (
      await request(withKey.getHttpServer() as App)
        .get('/dbos/api/workflows/dash-1')
        .expect(200)
    ).body as Record<string, any>;
    expect(shown.workflow.input).toEqual([`${SECRET}-input`]);
    expect(shown.steps[0].output).toEqual({ secret: `${SECRET}-step-${SECRET}-input` });
    expect(shown.events).toEqual([{ key: 'secret', value: `${SECRET}-event` }]);
    await withKey.close();

    const withoutKey = await dashboardApp(schema, undefined);
    const hidden = (
      await request(withoutKey.getHttpServer() as App)
        .get('/dbos/api/workflows/dash-1')
        .expect(200)
    ).body as Record<string, any>;
    await withoutKey.close();
    expect(JSON.stringify(hidden)).not.toContain(SECRET);
    expect(hidden.workflow).toMatchObject({ status: 'SUCCESS', input: '[encrypted]', output: '[encrypted]' });
    const stepsShown = (hidden.steps as { output: unknown; error: { message: string } | null }[]).map((s) => s.output ?? s.error?.message);
    expect(stepsShown.length).toBeGreaterThan(2);
    expect(stepsShown).toEqual(stepsShown.map(() => '[encrypted]'));
    expect(hidden.events).toEqual([{ key: 'secret', value: '[encrypted]' }]);
    expect(hidden.messages).toMatchObject([{ topic: 'later', message: '[encrypted]' }]);
  });

  it('refuses a key that is not 32 bytes, saying what is expected', async () => {
    const schema = newSchema('badkey');
    await expect(createDbosApp([Vault], { schema, encryption: { key: 'c2hvcnQ=' } })).rejects.toThrow(
      /encryption.key must be 32 bytes \(AES-256\): a Buffer or a base64 string of 32 bytes, not 5 bytes/,
    );
    await expect(
      WorkflowClient.connect({ database: { url: databaseUrl() }, schema, encryption: { key: keyA, previousKeys: [Buffer.alloc(16)] } }),
    ).rejects.toThrow(DbosConfigurationError);
  });
});

/** An ops dashboard app over the schema, taking no work, with or without the key. */
async function dashboardApp(schema: string, encryption: PayloadEncryptionOptions | undefined): Promise<INestApplication> {
  @Module({
    imports: [
      DbosModule.forRoot({ database: { url: databaseUrl() }, schema, startWork: false, encryption, shutdownTimeoutMs: 1_000 }),
      DbosDashboardModule.forRoot({ path: '/dbos' }),
    ],
  })
  class OpsDashboardModule {}
  const moduleRef = await Test.createTestingModule({ imports: [OpsDashboardModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.init();
  return app;
}

/** Runs the CLI as a real process. */
async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = ChildApp.run('lib/cli/main.ts', { args, env: { DATABASE_URL: databaseUrl(), NO_COLOR: '1', DBOS_ENCRYPTION_KEY: undefined, ...env } });
  const { code } = await child.exit;
  return { code, stdout: child.stdout, stderr: child.stderr };
}
