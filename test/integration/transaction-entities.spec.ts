import { Injectable } from '@nestjs/common';
import { Column, Entity, PrimaryColumn } from 'typeorm';
import { DbosContext, Transaction, Workflow, WorkflowClient } from '../../lib';
import { createDbosApp } from '../support/app';
import { dropSchema, sql, uniqueSchema, databaseOptions } from '../support/database';

const appSchema = uniqueSchema('stockapp');

@Entity({ name: 'stock', schema: appSchema })
class Stock {
  @PrimaryColumn('text') sku!: string;
  @Column('int') count!: number;
}

@Injectable()
class Inventory {
  constructor(private readonly dbos: DbosContext) {}

  @Transaction() async reserve(sku: string): Promise<number> {
    const stock = this.dbos.entityManager.getRepository(Stock);
    await stock.decrement({ sku }, 'count', 1);
    return (await stock.findOneByOrFail({ sku })).count;
  }

  @Workflow() async order(sku: string): Promise<number> {
    return this.reserve(sku);
  }
}

describe('@Transaction entities when the module opens the database from a URL', () => {
  const schema = uniqueSchema('txent');
  beforeAll(async () => {
    await sql(`CREATE SCHEMA "${appSchema}"`);
    await sql(`CREATE TABLE "${appSchema}".stock (sku text PRIMARY KEY, count int NOT NULL)`);
    await sql(`INSERT INTO "${appSchema}".stock VALUES ('tea', 10)`);
  });
  afterAll(async () => {
    await dropSchema(schema);
    await dropSchema(appSchema);
  });

  it('database.entities are what entityManager.getRepository sees, in their own schema', async () => {
    const app = await createDbosApp([Inventory], { schema, database: { url: process.env.DATABASE_URL!, entities: [Stock] } });
    try {
      const handle = await app.get(WorkflowClient).start(Inventory, { workflowId: 'tea-1' }).order('tea');
      expect(await handle.getResult()).toBe(9);
      expect(await sql(`SELECT count FROM "${appSchema}".stock`)).toEqual([{ count: 9 }]);
    } finally {
      await app.close();
    }
  });

  it('an entity the module does not know fails the step with an error that says where to declare it', async () => {
    const app = await createDbosApp([Inventory], { schema, database: databaseOptions() });
    try {
      const handle = await app.get(WorkflowClient).start(Inventory, { workflowId: 'tea-2' }).order('tea');
      const error = await handle.getResult().catch((e: Error) => e);
      expect((error as Error).name).toBe('EntityMetadataNotFoundError');
      expect((error as Error).message).toMatch(/No metadata for "Stock"/);
      expect((error as Error).message).toContain('DbosModule.forRoot({ database: { entities } })');
    } finally {
      await app.close();
    }
  });
});
