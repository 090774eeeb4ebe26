import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, DbosInvalidArgumentError, Workflow, WorkflowClient } from '../../lib';
import { run } from '../../lib/cli/cli.runner';
import { createDbosApp } from '../support/app';
import { databaseUrl, dropSchema, uniqueSchema } from '../support/database';

@Injectable()
class Orders {
  constructor(private readonly dbos: DbosContext) {}

  @Workflow() async place(orderId: string): Promise<string> {
    return `placed ${orderId}`;
  }

  @Workflow() async withChild(orderId: string): Promise<string> {
    const child = await this.dbos.startWorkflow(Orders, { workflowId: `${orderId}-child`, attributes: { role: 'child', orderId } }).place(orderId);
    return child.getResult();
  }
}

describe('workflow attributes', () => {
  const schema = uniqueSchema('attrs');
  let app: INestApplicationContext;
  let client: WorkflowClient;
  const ids = (workflows: { workflowId: string }[]) => workflows.map((w) => w.workflowId).sort();

  beforeAll(async () => {
    app = await createDbosApp([Orders], { schema, queues: [{ name: 'attr-orders' }], applicationVersion: 'attrs-v1' });
    client = app.get(WorkflowClient);
    const starts: [string, Record<string, string> | undefined][] = [
      ['a-1', { tenant: 'acme', region: 'eu' }],
      ['a-2', { tenant: 'acme', region: 'us' }],
      ['g-1', { tenant: 'globex', region: 'eu' }],
      ['none', undefined],
    ];
    for (const [workflowId, attributes] of starts) await (await client.start(Orders, { workflowId, attributes }).place(workflowId)).getResult();
  });

  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('are returned by getStatus() and list(), and absent when none were given', async () => {
    expect((await client.getStatus('a-1'))?.attributes).toEqual({ tenant: 'acme', region: 'eu' });
    expect((await client.getStatus('none'))?.attributes).toBeUndefined();
    const listed = await client.list({ workflowIdPrefix: 'a-', loadPayloads: false });
    expect(listed.map((w) => w.attributes)).toEqual([
      { tenant: 'acme', region: 'eu' },
      { tenant: 'acme', region: 'us' },
    ]);
  });

  it('list() by one attribute returns exactly the workflows that have it', async () => {
    expect(ids(await client.list({ attributes: { tenant: 'acme' } }))).toEqual(['a-1', 'a-2']);
    expect(ids(await client.list({ attributes: { region: 'eu' } }))).toEqual(['a-1', 'g-1']);
  });

  it('list() by two attributes returns the workflows that have both', async () => {
    expect(ids(await client.list({ attributes: { tenant: 'acme', region: 'eu' } }))).toEqual(['a-1']);
    expect(ids(await client.list({ attributes: { tenant: 'acme', region: 'eu' }, status: 'SUCCESS', workflowName: 'Orders.place' }))).toEqual(['a-1']);
  });

  it('list() with no match returns nothing', async () => {
    expect(await client.list({ attributes: { tenant: 'initech' } })).toEqual([]);
    expect(await client.list({ attributes: { tenant: 'globex', region: 'us' } })).toEqual([]);
  });

  it('listPage() filters by attributes across pages', async () => {
    const first = await client.listPage({ attributes: { tenant: 'acme' }, limit: 1 });
    expect(ids(first.workflows)).toEqual(['a-1']);
    const second = await client.listPage({ attributes: { tenant: 'acme' }, limit: 1, cursor: first.nextCursor! });
    expect(ids(second.workflows)).toEqual(['a-2']);
    const third = await client.listPage({ attributes: { tenant: 'acme' }, limit: 1, cursor: second.nextCursor! });
    expect(third.workflows).toEqual([]);
  });

  it('survive an enqueue by name, through the queue and its dispatcher', async () => {
    const handle = await client.enqueue({ workflowName: 'Orders.place', queue: 'attr-orders', workflowId: 'q-1', attributes: { tenant: 'hooli' } }, 'q-1');
    expect(await handle.getResult()).toBe('placed q-1');
    const [found] = await client.list({ attributes: { tenant: 'hooli' } });
    expect(found).toMatchObject({ workflowId: 'q-1', status: 'SUCCESS', queue: 'attr-orders', attributes: { tenant: 'hooli' } });
  });

  it('are given to a child by DbosContext.startWorkflow', async () => {
    expect(await (await client.start(Orders, { workflowId: 'p-1' }).withChild('p-1')).getResult()).toBe('placed p-1');
    const [child] = await client.list({ attributes: { role: 'child' } });
    expect(child).toMatchObject({ workflowId: 'p-1-child', parentWorkflowId: 'p-1', attributes: { role: 'child', orderId: 'p-1' } });
  });

  it('are copied to a fork', async () => {
    const fork = await client.fork('a-2', { fromStep: 0, workflowId: 'a-2-fork' });
    await fork.getResult();
    expect(ids(await client.list({ attributes: { tenant: 'acme', region: 'us' } }))).toEqual(['a-2', 'a-2-fork']);
  });

  it.each([
    ['too many pairs', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])), /have 17 pairs; at most 16 are allowed/],
    ['a value that is not a string', { count: 3 as unknown as string }, /the value of "count" is number; values are strings/],
    ['an empty key', { '': 'x' }, /the key "" must have 1 to 64 characters/],
    ['a key too long', { ['k'.repeat(65)]: 'x' }, /must have 1 to 64 characters \(it has 65\)/],
    ['a value too long', { note: 'x'.repeat(257) }, /the value of "note" has 257 characters; at most 256 are allowed/],
    ['too many bytes in all', Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'é'.repeat(200)])), /take \d+ bytes as JSON; at most 2048/],
    ['not an object', ['tenant'] as unknown as Record<string, string>, /must be an object of string keys and string values/],
  ])('refuses %s with DbosInvalidArgumentError, writing nothing', async (_case, attributes, message) => {
    const start = client.start(Orders, { workflowId: 'refused', attributes }).place('x');
    await expect(start).rejects.toThrow(DbosInvalidArgumentError);
    await expect(client.start(Orders, { workflowId: 'refused', attributes }).place('x')).rejects.toThrow(message);
    await expect(client.enqueue({ workflowName: 'Orders.place', queue: 'attr-orders', workflowId: 'refused', attributes }, 'x')).rejects.toThrow(message);
    expect(await client.getStatus('refused')).toBeNull();
  });

  it('refuses a list filter whose values are not strings', async () => {
    await expect(client.list({ attributes: { tenant: 1 as unknown as string } })).rejects.toThrow(/The attributes filter: the value of "tenant" is number/);
  });

  it('the CLI `workflows list --attr k=v` (repeatable) filters by them, and `workflows get` prints them', async () => {
    const cli = async (...args: string[]) => {
      let stdout = '';
      const command = args[0] === 'get' ? ['workflows', ...args] : ['workflows', 'list', ...args];
      const code = await run([...command, '--schema', schema], {
        stdout: (t) => (stdout += t),
        stderr: (t) => (stdout += t),
        env: { DATABASE_URL: databaseUrl() },
      });
      return { code, stdout };
    };
    const one = await cli('--attr', 'tenant=acme', '--json');
    expect(one.code).toBe(0);
    expect(ids(JSON.parse(one.stdout) as { workflowId: string }[])).toEqual(['a-1', 'a-2', 'a-2-fork']);
    const two = await cli('--attr', 'tenant=acme', '--attr', 'region=eu', '--json');
    expect(ids(JSON.parse(two.stdout) as { workflowId: string }[])).toEqual(['a-1']);
    expect((await cli('--attr', 'tenant=initech')).stdout).toContain('No workflows match.');
    const bad = await cli('--attr', 'tenant');
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toContain('--attr "tenant" is not KEY=VALUE');
    expect((await cli('get', 'a-1')).stdout).toMatch(/Attributes:\s+region=eu, tenant=acme/);
  });
});
