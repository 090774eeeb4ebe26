import { Injectable } from '@nestjs/common';
import { DbosConfigurationError, QueueRegistry, Step, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, uniqueSchema } from '../support/database';

@Injectable()
class Jobs {
  @Step() async double(n: number): Promise<number> {
    return n * 2;
  }

  @Workflow() async run(n: number): Promise<number> {
    return this.double(n);
  }
}

describe('queues registered at runtime', () => {
  const schema = uniqueSchema('rtq');
  afterAll(() => dropSchema(schema));

  it('QueueRegistry.register declares a queue the dispatcher then serves; a second registration with other options is refused', async () => {
    const app = await createDbosApp([Jobs], { schema });
    try {
      const client = app.get(WorkflowClient);
      await expect(client.start(Jobs, { queue: 'late' }).run(1)).rejects.toThrow(DbosConfigurationError);
      app.get(QueueRegistry).register({ name: 'late', workerConcurrency: 2 });
      const handle = await client.start(Jobs, { queue: 'late' }).run(21);
      expect(await handle.getResult({ timeoutMs: 10_000 })).toBe(42);
      expect(app.get(QueueRegistry).get('late')).toEqual({ name: 'late', workerConcurrency: 2 });
      expect(() => app.get(QueueRegistry).register({ name: 'late', workerConcurrency: 3 })).toThrow(/already registered with other options/);
    } finally {
      await app.close();
    }
  });
});
