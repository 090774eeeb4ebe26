import { NotificationListener } from '../../lib/system-database/notification.listener';
import { notificationChannel } from '../../lib/system-database/schema-name.util';
import { databaseUrl, sql } from '../support/database';
import { waitFor } from '../support/wait';

const quiet = { warn: () => undefined, log: () => undefined };

describe('NotificationListener', () => {
  it('wakes a waiter on NOTIFY at once, from another connection', async () => {
    const channel = notificationChannel('listener_test');
    const listener = new NotificationListener({ connectionString: databaseUrl() }, channel, quiet);
    await listener.start();
    try {
      expect(listener.isListening).toBe(true);
      let ready = false;
      let checks = 0;
      const started = Date.now();
      const waiting = listener.waitUntil(
        ['msg:w1'],
        async () => {
          checks++;
          return ready ? 'woken' : undefined;
        },
        Date.now() + 20_000,
      );
      // It subscribes before each check: once a check found nothing, it waits for the NOTIFY.
      await waitFor(() => checks === 1, { what: 'the waiter checked once' });
      ready = true;
      await sql(`SELECT pg_notify($1, 'msg:w1')`, [channel]);
      await expect(waiting).resolves.toBe('woken');
      expect(Date.now() - started).toBeLessThan(2_000); // not the 10 s safety poll
      expect(checks).toBe(2); // the NOTIFY woke the second check
    } finally {
      await listener.close();
    }
  });

  it('without LISTEN (unreachable, as behind a transaction pooler) waiters fall back to polling', async () => {
    const listener = new NotificationListener({ connectionString: 'postgres://nobody@127.0.0.1:1/none' }, 'dbos_x', quiet);
    await listener.start();
    try {
      expect(listener.isListening).toBe(false);
      let checks = 0;
      const started = Date.now();
      const value = await listener.waitUntil(['msg:w2'], async () => (++checks >= 3 ? 'polled' : undefined), Date.now() + 20_000);
      expect(value).toBe('polled');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000); // it waited between checks: no busy loop
      expect(Date.now() - started).toBeLessThan(6_000);
    } finally {
      await listener.close();
    }
  });

  it('a waiter gives up at its deadline with undefined', async () => {
    const listener = new NotificationListener({ connectionString: databaseUrl() }, notificationChannel('listener_test'), quiet);
    await listener.start();
    try {
      const started = Date.now();
      await expect(listener.waitUntil(['msg:never'], async () => undefined, Date.now() + 300)).resolves.toBeUndefined();
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      expect(listener.waiterCount).toBe(0);
    } finally {
      await listener.close();
    }
  });
});
