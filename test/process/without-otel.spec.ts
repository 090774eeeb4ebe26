import { ChildApp } from '../support/child-app';
import { dropSchema, uniqueSchema } from '../support/database';

describe('without @opentelemetry/api (an optional peer)', () => {
  const schema = uniqueSchema('nootel');
  afterAll(() => dropSchema(schema));

  it('workflows, steps and queues run as usual', async () => {
    const child = ChildApp.start('without-otel-app.ts', { DBOS_SCHEMA: schema });
    await child.waitForOutput(/RESULT 2 2/);
    expect(await child.waitForExit()).toBe(0);
  });
});
