import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema } from '../support/database';
import { waitFor } from '../support/wait';

@Injectable()
class Shipping {
  static runs: string[] = [];

  @Workflow({ name: 'ship' }) async ship(orderId: number, note: { priority: boolean }): Promise<string> {
    Shipping.runs.push(`${orderId}`);
    return `shipped ${orderId}${note.priority ? ' first' : ''}`;
  }
}

describe('enqueue_workflow(name, queue, args, workflow_id, traceparent): starting workflows from SQL', () => {
  const schema = uniqueSchema('sqlenq');
  const app$ = createDbosApp([Shipping], { schema, queues: [{ name: 'shipping' }] });
  let app: INestApplicationContext;

  beforeAll(async () => {
    app = await app$;
    await sql(`CREATE TABLE "${schema}".orders (id int PRIMARY KEY, priority boolean NOT NULL)`);
    await sql(`
      CREATE FUNCTION "${schema}".ship_new_order() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM "${schema}".enqueue_workflow('ship', 'shipping', json_build_array(NEW.id, json_build_object('priority', NEW.priority)), 'ship-' || NEW.id);
        RETURN NEW;
      END $$`);
    await sql(`CREATE TRIGGER orders_ship AFTER INSERT ON "${schema}".orders FOR EACH ROW EXECUTE FUNCTION "${schema}".ship_new_order()`);
  });
  afterAll(async () => {
    await app.close();
    await dropSchema(schema);
  });

  it('a committed insert starts one workflow, from the trigger, with the row as its arguments', async () => {
    await sql(`INSERT INTO "${schema}".orders VALUES (1, true)`);
    const handle = app.get(WorkflowClient).retrieve<string>('ship-1');
    expect(await handle.getResult({ timeoutMs: 10_000 })).toBe('shipped 1 first');
    expect(Shipping.runs.filter((r) => r === '1')).toHaveLength(1);
    expect(await handle.getStatus()).toMatchObject({ status: 'SUCCESS', queue: 'shipping' });
  });

  it('a rolled-back insert starts none', async () => {
    await sql(`BEGIN; INSERT INTO "${schema}".orders VALUES (2, false); ROLLBACK;`);
    await sql(`INSERT INTO "${schema}".orders VALUES (3, false)`);
    await app.get(WorkflowClient).retrieve('ship-3').getResult({ timeoutMs: 10_000 });
    const rows = await sql(`SELECT workflow_id FROM "${schema}".workflow_status WHERE workflow_id = 'ship-2'`);
    expect(rows).toHaveLength(0);
    expect(Shipping.runs).not.toContain('2');
  });

  it('an id that exists is left as it is and returned; without an id one is made', async () => {
    const [again] = await sql<{ id: string }>(`SELECT "${schema}".enqueue_workflow('ship', 'shipping', '[1, {"priority": false}]', 'ship-1') AS id`);
    expect(again.id).toBe('ship-1');
    const [made] = await sql<{ id: string }>(`SELECT "${schema}".enqueue_workflow('ship', 'shipping', '[9, {"priority": false}]') AS id`);
    expect(await app.get(WorkflowClient).retrieve(made.id).getResult({ timeoutMs: 10_000 })).toBe('shipped 9');
    await waitFor(() => Shipping.runs.length >= 3);
    expect(Shipping.runs.filter((r) => r === '1')).toHaveLength(1);
  });

  it('keeps a W3C traceparent as the client keeps a trace context; a malformed one raises, saying the form expected, and starts nothing', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await sql(`SELECT "${schema}".enqueue_workflow('ship', 'shipping', '[20, {"priority": false}]', 'ship-20', traceparent => $1)`, [traceparent]);
    expect(await app.get(WorkflowClient).retrieve('ship-20').getResult({ timeoutMs: 10_000 })).toBe('shipped 20');
    const [row] = await sql<{ trace_context: string }>(`SELECT trace_context FROM "${schema}".workflow_status WHERE workflow_id = 'ship-20'`);
    expect(row.trace_context).toBe(JSON.stringify({ traceparent }));
    // Without one (the four-argument form, or NULL): none stored.
    const [none] = await sql<{ trace_context: string | null }>(`SELECT trace_context FROM "${schema}".workflow_status WHERE workflow_id = 'ship-1'`);
    expect(none.trace_context).toBeNull();
    for (const bad of [
      'not-a-traceparent',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01', // uppercase
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01', // all-zero trace id
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01', // all-zero parent id
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', // another version
    ]) {
      await expect(sql(`SELECT "${schema}".enqueue_workflow('ship', 'shipping', '[21, {"priority": false}]', 'ship-21', $1)`, [bad])).rejects.toThrow(
        `enqueue_workflow: traceparent must be a W3C traceparent, 00-<trace id: 32 lowercase hex>-<parent span id: 16 lowercase hex>-<flags: 2 hex>, ids not all zeros (e.g. '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'), or NULL; got '${bad}'`,
      );
    }
    expect(await sql(`SELECT 1 FROM "${schema}".workflow_status WHERE workflow_id = 'ship-21'`)).toHaveLength(0);
  });
});
