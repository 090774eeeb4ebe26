import { WorkflowClient } from '../../lib';
import { ChildApp } from '../support/child-app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';
import { waitFor } from '../support/wait';

describe('crash recovery with a real SIGKILL', () => {
  const schema = uniqueSchema('crash');
  let client: WorkflowClient;
  const children: ChildApp[] = [];

  const startApp = (env: Record<string, string> = {}) => {
    const child = ChildApp.start('crash-app.ts', { DBOS_SCHEMA: schema, ...env });
    children.push(child);
    return child;
  };
  const effects = async (workflowId: string) =>
    (await sql<{ step: string }>(`SELECT step FROM "${schema}".side_effects WHERE workflow_id = $1 ORDER BY step`, [workflowId])).map((r) => r.step);

  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill('SIGKILL')));
  });
  afterAll(async () => {
    await client?.close();
    await dropSchema(schema);
  });

  it('killed while the transaction step runs, the restarted app resumes from step 2 and every effect happens once', async () => {
    const first = startApp({ START_WORKFLOW: 'crash-in-tx', HANG_IN_TRANSACTION: '1' });
    await first.waitForOutput(/IN_TRANSACTION/);
    expect(await first.kill('SIGKILL')).toBeNull();
    expect(await effects('crash-in-tx')).toEqual(['validatePayment']); // the open transaction died with the process

    const second = startApp();
    await second.waitForOutput(/READY/);
    client = await WorkflowClient.connect({ database: databaseOptions(), schema });
    await expect(client.retrieve('crash-in-tx').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['paid-o-1', 'reserved-o-1', 'shipped-o-1']);
    expect(await effects('crash-in-tx')).toEqual(['reserveStock', 'ship', 'validatePayment']);
    const status = await client.retrieve('crash-in-tx').getStatus();
    expect(status).toMatchObject({ status: 'SUCCESS', recoveryAttempts: 1, executorId: 'crash-executor' });
  });

  it('killed right after the transaction commits, the restarted app does not run it again', async () => {
    const first = startApp({ START_WORKFLOW: 'crash-after-tx', CRASH_AFTER_TRANSACTION: '1' });
    expect(await first.waitForExit()).toBeNull(); // died of its own SIGKILL
    expect(first.process.signalCode).toBe('SIGKILL');
    expect(await effects('crash-after-tx')).toEqual(['reserveStock', 'validatePayment']);

    const second = startApp();
    await second.waitForOutput(/READY/);
    client ??= await WorkflowClient.connect({ database: databaseOptions(), schema });
    await expect(client.retrieve('crash-after-tx').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['paid-o-1', 'reserved-o-1', 'shipped-o-1']);
    expect(await effects('crash-after-tx')).toEqual(['reserveStock', 'ship', 'validatePayment']);
    const steps = await client.listSteps('crash-after-tx');
    expect(steps.map((s) => s.name)).toEqual(['CrashCheckout.validatePayment', 'CrashCheckout.reserveStock', 'CrashCheckout.ship']);
  });

  it('killed while the body waits on something that is not a step, the restarted app does not run the step before it again', async () => {
    // The step's checkpoint is held back to go with the outcome only while the body goes straight on;
    // a body that waits on anything else has it written meanwhile.
    const first = startApp({ START_PAUSE: 'crash-paused' });
    await first.waitForOutput(/PAUSED_AFTER_STEP/);
    await waitFor(async () => (await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = 'crash-paused'`)).length > 0, {
      what: 'the step checkpoint written while the body waits',
    });
    await first.kill('SIGKILL');
    expect(await effects('crash-paused')).toEqual(['validatePayment']);
    const recorded = await sql<{ step_name: string }>(`SELECT step_name FROM "${schema}".operation_outputs WHERE workflow_id = 'crash-paused'`);
    expect(recorded.map((r) => r.step_name)).toEqual(['CrashCheckout.validatePayment']);

    const second = startApp();
    await second.waitForOutput(/READY/);
    client ??= await WorkflowClient.connect({ database: databaseOptions(), schema });
    await expect(client.retrieve('crash-paused').getResult({ timeoutMs: 30_000 })).resolves.toEqual(['paid-o-1', 'shipped-o-1']);
    expect(await effects('crash-paused')).toEqual(['ship', 'validatePayment']);
  });

  it('a durable sleep interrupted by SIGKILL wakes at its original deadline after the restart', async () => {
    const napMs = 8_000;
    const first = startApp({ START_NAP: 'nap-1', NAP_MS: String(napMs) });
    await first.waitForOutput(/NAPPING/);
    await waitFor(async () => (await sql(`SELECT 1 FROM "${schema}".operation_outputs WHERE workflow_id = 'nap-1' AND step_name = 'DBOS.sleep'`)).length > 0, {
      what: 'the deadline of the sleep recorded',
    });
    await first.kill('SIGKILL');
    // Down for 2 s on purpose: a restart that slept the whole duration again would end measurably after the deadline.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const restartedAt = Date.now();
    const second = startApp();
    await second.waitForOutput(/READY/);
    const readyAt = Date.now();
    client ??= await WorkflowClient.connect({ database: databaseOptions(), schema });
    const wokeAt = await client.retrieve<number>('nap-1').getResult({ timeoutMs: 30_000 });
    const sleepStep = (await client.listSteps('nap-1')).find((s) => s.name === 'DBOS.sleep')!;
    const deadline = sleepStep.output as number;
    expect(wokeAt).toBeGreaterThanOrEqual(deadline);
    // At the deadline; or, when the restarted process came up after it (a slow start), at once:
    // a sleep begun again on recovery would wake napMs later.
    expect(wokeAt).toBeLessThan(Math.max(deadline, readyAt) + 1_500);
    // Restart + full duration would have been much later: the deadline, not the duration, was kept.
    expect(restartedAt + napMs).toBeGreaterThan(deadline + 1_500);
  });
});
