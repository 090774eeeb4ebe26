import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { DbosContext, Step, Workflow, WorkflowClient, type WorkflowStatusInfo } from '../../lib';
import { run } from '../../lib/cli/cli.runner';
import { createDbosApp } from '../support/app';
import { ChildApp } from '../support/child-app';
import { databaseUrl, dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

const DAY_MS = 86_400_000;
const gates = new Map<string, () => void>();

@Injectable()
class Ledger {
  static declining = true;
  static charges = 0;

  constructor(private readonly dbos: DbosContext) {}

  @Step() async add(a: number, b: number): Promise<number> {
    return a + b;
  }

  @Step() async charge(amount: number): Promise<string> {
    Ledger.charges++;
    if (Ledger.declining) throw new Error(`card declined for ${amount}`);
    return `charged ${amount}`;
  }

  @Step() async hold(gate: string): Promise<void> {
    await new Promise<void>((resolve) => gates.set(gate, resolve));
  }

  @Workflow() async total(a: number, b: number): Promise<number> {
    const sum = await this.add(a, b);
    return this.add(sum, 10);
  }

  @Workflow() async pay(amount: number): Promise<string> {
    await this.add(amount, 0);
    return this.charge(amount);
  }

  @Workflow() async callCarrier(): Promise<void> {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:443'), { code: 'ECONNREFUSED', errno: -111 });
    throw new TypeError('fetch failed', { cause: refused });
  }

  @Workflow() async wait(gate: string): Promise<string> {
    await this.hold(gate);
    return gate;
  }

  @Workflow() async parent(): Promise<number> {
    const child = await this.dbos.startWorkflow(Ledger, { workflowId: 'cli-child' }).total(5, 5);
    return child.getResult();
  }
}

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a real process: `nestjs-dbos ...args`. */
async function runCli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const child = ChildApp.run('lib/cli/main.ts', { args, env: { DATABASE_URL: databaseUrl(), NO_COLOR: '1', ...env } });
  const { code } = await child.exit;
  return { code, stdout: child.stdout, stderr: child.stderr };
}

/** Data rows of a table, as arrays of cells. */
function tableRows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(/\s{2,}/));
}

/** The same command line through `run()` in this process, for the checks that never reach the database. */
async function runInProcess(argv: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env });
  return { code, stdout, stderr };
}

function idsOf(json: string): string[] {
  return (JSON.parse(json) as WorkflowStatusInfo[]).map((w) => w.workflowId);
}

describe('nestjs-dbos CLI', () => {
  const schema = uniqueSchema('cli');
  const cli = (...args: string[]) => runCli([...args, '--schema', schema]);
  let app: INestApplicationContext;
  let client: WorkflowClient;
  let firstMigrate: CliResult;

  const statusOf = async (workflowId: string) => (await client.getStatus(workflowId))?.status;
  const moveBack = (workflowId: string, days: number) =>
    sql(`UPDATE "${schema}".workflow_status SET created_at = created_at - $2 WHERE workflow_id = $1`, [workflowId, days * DAY_MS]);

  beforeAll(async () => {
    firstMigrate = await cli('migrate');
    app = await createDbosApp([Ledger], {
      schema,
      runMigrations: false,
      applicationVersion: 'cli-v1',
      executorId: 'cli-executor',
      queues: [{ name: 'cli-serial', workerConcurrency: 1 }],
    });
    client = app.get(WorkflowClient);

    for (const id of ['cli-old-1', 'cli-old-2', 'cli-total']) await (await client.start(Ledger, { workflowId: id }).total(1, 2)).getResult();
    await expect((await client.start(Ledger, { workflowId: 'cli-pay' }).pay(5)).getResult()).rejects.toThrow('card declined for 5');
    await (await client.start(Ledger, { workflowId: 'cli-parent' }).parent()).getResult();
    await client.start(Ledger, { workflowId: 'cli-wait' }).wait('wait');
    await client.start(Ledger, { workflowId: 'cli-q-held', queue: 'cli-serial' }).wait('queue');
    await waitFor(async () => (await statusOf('cli-q-held')) === 'PENDING' && gates.has('queue'));
    await client.start(Ledger, { workflowId: 'cli-q-next', queue: 'cli-serial' }).total(3, 4);
    await moveBack('cli-old-1', 10);
    await moveBack('cli-old-2', 9);
    await moveBack('cli-q-next', 8);
  });

  afterAll(async () => {
    for (const open of gates.values()) open();
    await app?.close();
    await dropSchema(schema);
  });

  it('migrate creates the system schema on a fresh schema, then finds it up to date', async () => {
    expect(firstMigrate.code).toBe(0);
    expect(firstMigrate.stdout).toMatch(new RegExp(`Applied \\d+ migrations to system schema "${schema}": InitialSchema\\d+`));
    const again = await cli('migrate');
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(`System schema "${schema}" is up to date.`);
  });

  it('workflows list prints a table of the workflows, newest first, with ISO dates', async () => {
    const { code, stdout } = await cli('workflows', 'list');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0].split(/\s+/)).toEqual(['ID', 'STATUS', 'NAME', 'QUEUE', 'CREATED', 'UPDATED', 'EXECUTOR', 'VERSION']);
    const rows = tableRows(stdout);
    expect(rows.map((row) => row[0]).sort()).toEqual([
      'cli-child',
      'cli-old-1',
      'cli-old-2',
      'cli-parent',
      'cli-pay',
      'cli-q-held',
      'cli-q-next',
      'cli-total',
      'cli-wait',
    ]);
    const created = rows.map((row) => row[4]);
    expect(created).toEqual([...created].sort().reverse());
    expect(rows.slice(-3).map((row) => row[0])).toEqual(['cli-q-next', 'cli-old-2', 'cli-old-1']);
    const held = rows.find((row) => row[0] === 'cli-q-held')!;
    expect(held.slice(1, 4)).toEqual(['PENDING', 'Ledger.wait', 'cli-serial']);
    expect(held[4]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(held.slice(6)).toEqual(['cli-executor', 'cli-v1']);
    expect(rows.find((row) => row[0] === 'cli-pay')!.slice(1, 4)).toEqual(['ERROR', 'Ledger.pay', '-']);
  });

  it('workflows list --json prints the full statuses with inputs and outputs, and --no-payloads leaves them out', async () => {
    const [full, lean] = await Promise.all([cli('workflows', 'list', '--json'), cli('workflows', 'list', '--json', '--no-payloads')]);
    expect(full.code).toBe(0);
    const workflows = JSON.parse(full.stdout) as Record<string, unknown>[];
    expect(workflows.find((w) => w.workflowId === 'cli-total')).toMatchObject({
      status: 'SUCCESS',
      workflowName: 'Ledger.total',
      executorId: 'cli-executor',
      applicationVersion: 'cli-v1',
      input: [1, 2],
      output: 13,
    });
    expect(workflows.find((w) => w.workflowId === 'cli-pay')).toMatchObject({ status: 'ERROR', error: { name: 'Error', message: 'card declined for 5' } });
    expect(workflows.find((w) => w.workflowId === 'cli-child')).toMatchObject({ parentWorkflowId: 'cli-parent' });
    const leanTotal = (JSON.parse(lean.stdout) as Record<string, unknown>[]).find((w) => w.workflowId === 'cli-total');
    expect(leanTotal).toMatchObject({ status: 'SUCCESS' });
    expect(leanTotal).not.toHaveProperty('input');
    expect(leanTotal).not.toHaveProperty('output');
  });

  it('workflows list filters by status, name, queue, executor, version, parent, id prefix and creation time, and pages', async () => {
    const list = async (...filters: string[]) => {
      const result = await cli('workflows', 'list', '--json', '--no-payloads', ...filters);
      expect(result.code).toBe(0);
      return idsOf(result.stdout).sort();
    };
    const nineAndAHalfDaysAgo = new Date(Date.now() - 9.5 * DAY_MS).toISOString();
    const results = await Promise.all([
      list('--status', 'PENDING,enqueued', '--status', 'ERROR'),
      list('--queue', 'cli-serial'),
      list('--executor', 'cli-executor', '--app-version', 'cli-v1', '--id-prefix', 'cli-pa'),
      list('--parent', 'cli-parent'),
      list('--created-after', nineAndAHalfDaysAgo, '--created-before', '7d'),
      list('--name', 'Ledger.total', '--sort', 'asc', '--limit', '2', '--offset', '1'),
    ]);
    expect(results).toEqual([
      ['cli-pay', 'cli-q-held', 'cli-q-next', 'cli-wait'],
      ['cli-q-held', 'cli-q-next'],
      ['cli-parent', 'cli-pay'],
      ['cli-child'],
      ['cli-old-2', 'cli-q-next'],
      ['cli-old-2', 'cli-q-next'],
    ]);
  });

  it('workflows get prints the status, input, output and error of one workflow', async () => {
    const [total, pay] = await Promise.all([cli('workflows', 'get', 'cli-total'), cli('workflows', 'get', 'cli-pay', '--json')]);
    expect(total.code).toBe(0);
    expect(total.stdout).toMatch(/^ID:\s+cli-total$/m);
    expect(total.stdout).toMatch(/^Status:\s+SUCCESS$/m);
    expect(total.stdout).toMatch(/^Name:\s+Ledger\.total$/m);
    expect(total.stdout).toMatch(/^App version:\s+cli-v1$/m);
    expect(total.stdout).toMatch(/^Input:\s+\[1,2\]$/m);
    expect(total.stdout).toMatch(/^Output:\s+13$/m);
    expect(pay.code).toBe(0);
    expect(JSON.parse(pay.stdout)).toMatchObject({
      workflowId: 'cli-pay',
      status: 'ERROR',
      input: [5],
      error: { name: 'Error', message: 'card declined for 5' },
    });
  });

  it("workflows get shows the recorded error's cause chain (name, message, code), in the table and in --json", async () => {
    await expect((await client.start(Ledger, { workflowId: 'cli-carrier' }).callCarrier()).getResult()).rejects.toThrow('fetch failed');
    const [text, json] = await Promise.all([cli('workflows', 'get', 'cli-carrier'), cli('workflows', 'get', 'cli-carrier', '--json')]);
    await sql(`DELETE FROM "${schema}".workflow_status WHERE workflow_id = 'cli-carrier'`); // the other tests count the workflows
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^Error:\s+TypeError: fetch failed; caused by Error: connect ECONNREFUSED 10\.0\.0\.9:443$/m);
    expect(JSON.parse(json.stdout).error).toMatchObject({
      name: 'TypeError',
      message: 'fetch failed',
      cause: { name: 'Error', message: 'connect ECONNREFUSED 10.0.0.9:443', code: 'ECONNREFUSED' },
    });
  });

  it('workflows steps lists each step with its result, duration and child workflow', async () => {
    const [pay, parent] = await Promise.all([cli('workflows', 'steps', 'cli-pay'), cli('workflows', 'steps', 'cli-parent', '--json')]);
    expect(pay.code).toBe(0);
    expect(pay.stdout.split('\n')[0].split(/\s+/)).toEqual(['STEP', 'NAME', 'RESULT', 'DURATION', 'CHILD']);
    const rows = tableRows(pay.stdout);
    expect(rows.map((row) => row.slice(0, 3))).toEqual([
      ['0', 'Ledger.add', '5'],
      ['1', 'Ledger.charge', 'error Error: card declined for 5'],
    ]);
    expect(rows[0][3]).toMatch(/^\d+ms$/);
    expect(rows[0][4]).toBe('-');
    expect(parent.code).toBe(0);
    expect(JSON.parse(parent.stdout)).toContainEqual(expect.objectContaining({ childWorkflowId: 'cli-child' }));
  });

  it('queues shows how many workflows wait and run on each queue', async () => {
    const [table, json] = await Promise.all([cli('queues'), cli('queues', '--json')]);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0].split(/\s+/)).toEqual(['QUEUE', 'ENQUEUED', 'RUNNING']);
    expect(tableRows(table.stdout)).toEqual([['cli-serial', '1', '1']]);
    expect(JSON.parse(json.stdout)).toEqual([{ queue: 'cli-serial', enqueued: 1, running: 1 }]);
  });

  it('workflows cancel cancels a running workflow and leaves a finished one as it is', async () => {
    const result = await cli('workflows', 'cancel', 'cli-wait', 'cli-total');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Cancelled cli-wait');
    expect(result.stdout).toContain('cli-total is already SUCCESS: nothing to cancel');
    expect(await statusOf('cli-wait')).toBe('CANCELLED');
    expect(await statusOf('cli-total')).toBe('SUCCESS');
  });

  it('workflows resume continues a failed workflow from its last completed step, and refuses a finished one', async () => {
    Ledger.declining = false;
    const chargesBefore = Ledger.charges;
    const resumed = await cli('workflows', 'resume', 'cli-pay');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(/^Resumed cli-pay \(now (ENQUEUED|PENDING|SUCCESS), version cli-v1\)$/m);
    await waitFor(async () => (await statusOf('cli-pay')) === 'SUCCESS');
    await expect(client.retrieve('cli-pay').getResult()).resolves.toBe('charged 5');
    expect(Ledger.charges).toBe(chargesBefore + 1);

    const refused = await cli('workflows', 'resume', 'cli-total');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cli-total was not resumed: it is SUCCESS');
  });

  it('workflows fork starts a new workflow that reuses the steps before --from-step, and prints its id', async () => {
    const fork = await cli('workflows', 'fork', 'cli-total', '--from-step', '1');
    expect(fork.code).toBe(0);
    const forkId = fork.stdout.trim();
    expect(forkId).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(async () => (await statusOf(forkId)) === 'SUCCESS');
    await expect(client.retrieve(forkId).getResult()).resolves.toBe(13);
    const forks = await cli('workflows', 'list', '--forked-from', 'cli-total', '--json');
    expect(idsOf(forks.stdout)).toEqual([forkId]);
    expect((await client.listSteps(forkId)).map((step) => step.output)).toEqual([3, 13]);
  });

  it('gc --older-than deletes exactly the finished workflows created before the cutoff', async () => {
    const result = await cli('gc', '--older-than', '7d');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Deleted 2 finished workflows created before \d{4}-\d{2}-\d{2}T[\d:.]+Z\.$/m);
    const left = await sql<{ workflow_id: string }>(`SELECT workflow_id FROM "${schema}".workflow_status WHERE workflow_id LIKE 'cli-%' ORDER BY 1`);
    expect(left.map((r) => r.workflow_id)).toEqual(['cli-child', 'cli-parent', 'cli-pay', 'cli-q-held', 'cli-q-next', 'cli-total', 'cli-wait']);
    const steps = await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id IN ('cli-old-1', 'cli-old-2')`);
    expect(steps).toEqual([]);
  });

  it('an unknown workflow id exits 3 with a clear message; a cancel naming one cancels nothing', async () => {
    const [get, cancel] = await Promise.all([cli('workflows', 'get', 'no-such-workflow'), cli('workflows', 'cancel', 'cli-q-next', 'no-such-workflow')]);
    for (const result of [get, cancel]) {
      expect(result.code).toBe(3);
      expect(result.stderr).toContain('No workflow has the id "no-such-workflow"');
    }
    expect(cancel.stderr).toContain('none of the 2 workflows was cancelled');
    expect(cancel.stdout).toBe('');
    expect(await statusOf('cli-q-next')).not.toBe('CANCELLED');
  });

  it('workflows set-priority and set-delay change a queued workflow, and refuse one its queue started', async () => {
    const priority = await cli('workflows', 'set-priority', 'cli-q-next', '3');
    expect(priority).toMatchObject({ code: 0, stdout: 'Priority of cli-q-next is now 3\n' });
    const before = Date.now();
    const delay = await cli('workflows', 'set-delay', 'cli-q-next', '10m');
    expect(delay.code).toBe(0);
    expect(delay.stdout).toMatch(/^cli-q-next starts no earlier than \d{4}-\d{2}-\d{2}T[\d:.]+Z$/m);
    const [row] = await sql<{ priority: number; delay_until: string }>(
      `SELECT priority, delay_until FROM "${schema}".workflow_status WHERE workflow_id = 'cli-q-next'`,
    );
    expect(row.priority).toBe(3);
    expect(Number(row.delay_until) - before).toBeGreaterThanOrEqual(600_000);
    expect(Number(row.delay_until) - before).toBeLessThan(660_000);
    const refused = await cli('workflows', 'set-priority', 'cli-q-held', '1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Workflow "cli-q-held" is PENDING, not ENQUEUED: its priority can only be changed while it waits on its queue');
  });

  it('workflows delete deletes a finished workflow (--children: with its children) and refuses a running one without --force', async () => {
    const withChildren = await cli('workflows', 'delete', 'cli-parent', '--children');
    expect(withChildren).toMatchObject({ code: 0, stdout: 'Deleted 2 workflows: cli-parent, cli-child\n' });
    const refused = await cli('workflows', 'delete', 'cli-q-held');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'Workflow "cli-q-held" is PENDING: only finished workflows are deleted. Cancel it first (client.cancel), or pass { force: true }',
    );
    const left = await sql<{ workflow_id: string }>(
      `SELECT workflow_id FROM "${schema}".workflow_status WHERE workflow_id IN ('cli-parent', 'cli-child', 'cli-q-held') ORDER BY 1`,
    );
    expect(left.map((r) => r.workflow_id)).toEqual(['cli-q-held']);
    expect(await cli('workflows', 'delete', 'no-such-workflow')).toMatchObject({ code: 3 });
  });

  it('an unreachable database exits 4 and never shows the password', async () => {
    const result = await runCli(['workflows', 'list', '--database-url', 'postgres://u:secret@127.0.0.1:1/x']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('postgres://u:***@127.0.0.1:1/x is unavailable');
    expect(result.stdout + result.stderr).not.toContain('secret');
  });

  it('a schema without the system tables exits 4 and suggests migrate', async () => {
    const missing = uniqueSchema('cli_missing');
    const result = await runCli(['workflows', 'list', '--schema', missing]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`The system schema "${missing}" has no workflow tables`);
    expect(result.stderr).toContain(`nestjs-dbos migrate --schema ${missing}`);
  });

  it('bad usage exits 2 with a message saying what is wrong', async () => {
    const real = await runCli(['workflows', 'list', '--bogus']);
    expect(real.code).toBe(2);
    expect(real.stderr).toContain('error: Unknown option \'--bogus\'.\nRun "nestjs-dbos help workflows list" for usage.');

    const cases: [string[], string][] = [
      [[], 'Usage: nestjs-dbos <command> [options]'],
      [['frobnicate'], 'error: Unknown command "frobnicate".'],
      [['workflows'], 'error: "workflows" needs a command: list, get, steps, cancel, resume, fork, delete, set-priority, set-delay.'],
      [
        ['workflows', 'list', '--status', 'DONE'],
        'error: Unknown status "DONE": use one of ENQUEUED, PENDING, SUCCESS, ERROR, CANCELLED, MAX_RECOVERY_ATTEMPTS_EXCEEDED.',
      ],
      [
        ['workflows', 'list', '--created-after', 'yesterday'],
        'error: --created-after "yesterday" is neither an ISO date (2026-01-31, 2026-01-31T12:00:00Z) nor a time ago (30m, 2h, 7d).',
      ],
      [['workflows', 'list', '--limit', '0'], 'error: --limit "0" must be a whole number of at least 1.'],
      [['workflows', 'get'], 'error: workflows get needs ID.'],
      [['workflows', 'get', 'a', 'b'], 'error: Unexpected argument "b".'],
      [['workflows', 'fork', 'cli-total'], 'error: Option --from-step is required.'],
      [['workflows', 'set-priority', 'cli-q-next', 'high'], 'error: PRIORITY "high" must be a whole number (lower runs first).'],
      [
        ['workflows', 'set-delay', 'cli-q-next', 'soon'],
        'error: DELAY "soon" is not a duration: use a number and a unit (ms, s, m, h, d, w), e.g. 30m, 2h or 7d.',
      ],
      [['gc', '--older-than', 'soon'], 'error: --older-than "soon" is neither an ISO date (2026-01-31, 2026-01-31T12:00:00Z) nor a time ago (30m, 2h, 7d).'],
      [
        ['queues', '--schema', 'not-a-schema'],
        'error: Invalid system schema name "not-a-schema": use 1 to 63 letters, digits and underscores, not starting with a digit.',
      ],
      [['queues', '--database-url', 'mysql://db/x'], 'error: The database URL must be a postgres:// or postgresql:// URL.'],
    ];
    for (const [argv, message] of cases) {
      const result = await runInProcess(argv, { DATABASE_URL: databaseUrl() });
      expect({ argv, code: result.code, message: result.stderr.split('\n')[0] }).toEqual({ argv, code: 2, message });
    }
    const noDatabase = await runInProcess(['queues'], {});
    expect(noDatabase).toMatchObject({ code: 2, stderr: expect.stringContaining('No database given: pass --database-url URL or set DATABASE_URL.') });
  });

  it('help exits 0 and lists the commands, the connection options and the exit codes', async () => {
    const general = await runCli(['--help']);
    expect(general.code).toBe(0);
    for (const line of [
      'workflows list',
      'workflows fork ID',
      'workflows delete ID',
      'workflows set-priority ID PRIORITY',
      'queues',
      'migrate',
      'gc',
      '--database-url URL',
      '--schema NAME',
      'Exit codes:',
      '2  usage error',
      '3  a workflow was not found',
      '4  the database is unavailable',
    ]) {
      expect(general.stdout).toContain(line);
    }
    for (const argv of [
      ['help', 'workflows', 'list'],
      ['workflows', 'list', '--help'],
    ]) {
      const command = await runInProcess(argv, {});
      expect(command.code).toBe(0);
      expect(command.stdout).toContain('Usage: nestjs-dbos workflows list [options]');
      expect(command.stdout).toContain('--created-after WHEN');
    }
  });
});
