import { Injectable, Module, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import {
  DbosContext,
  DbosInvalidArgumentError,
  Step,
  Transaction,
  Workflow,
  WorkflowClient,
  type DbosModuleOptions,
  type DbosOptionsFactory,
} from 'nestjs-dbos';
import { DbosTestingModule, DbosTestKit } from 'nestjs-dbos/testing';
import { DBOS_RESOLVED_OPTIONS } from '../../lib/dbos.constants';
import { dropSchema, sql, uniqueSchema } from '../support/database';

const appSchema = uniqueSchema('crash_at');
/** How many times each step's body ran, by name. */
const runs = new Map<string, number>();
const ran = (name: string) => runs.set(name, (runs.get(name) ?? 0) + 1);

@Injectable()
class LedgerService {
  constructor(private readonly dbos: DbosContext) {}

  @Step()
  async reserve(id: string): Promise<string> {
    ran('reserve');
    return `reserved ${id}`;
  }

  /** Its insert commits with its checkpoint, or not at all. */
  @Transaction()
  async book(id: string): Promise<void> {
    ran('book');
    await this.dbos.entityManager.query(`INSERT INTO "${appSchema}".ledger (id) VALUES ($1)`, [id]);
  }

  @Workflow()
  async settle(id: string): Promise<string> {
    const reserved = await this.reserve(id);
    await this.book(id);
    return reserved;
  }
}

@Module({ providers: [LedgerService] })
class LedgerModule {}

class TestOptions implements DbosOptionsFactory {
  createDbosOptions(): DbosModuleOptions {
    return { applicationVersion: 'from-class' };
  }
}

async function start(dbos: ReturnType<typeof DbosTestingModule.forRoot>): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [dbos, LedgerModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: ['error'] });
  await app.init();
  return app;
}

const schemaExists = async (schema: string) => (await sql(`SELECT 1 FROM pg_namespace WHERE nspname = $1`, [schema])).length === 1;

describe('DbosTestKit.crashAt: a crash at a named step, without a hook in the app', () => {
  let app: INestApplication;
  let kit: DbosTestKit;
  let client: WorkflowClient;

  beforeAll(async () => {
    await sql(`CREATE SCHEMA "${appSchema}"`);
    await sql(`CREATE TABLE "${appSchema}".ledger (id text NOT NULL)`);
    app = await start(DbosTestingModule.forRoot());
    kit = app.get(DbosTestKit);
    client = app.get(WorkflowClient);
  });

  afterAll(async () => {
    await app?.close();
    await dropSchema(appSchema);
  });

  beforeEach(() => runs.clear());

  const booked = async (id: string) => (await sql(`SELECT id FROM "${appSchema}".ledger WHERE id = $1`, [id])).length;

  it('at a @Step: the step runs again after recovery (its result was not recorded; the recovered run is not crashed again), the workflow finishes once', async () => {
    const crashed = kit.crashAt('LedgerService.reserve');
    const handle = await client.start(LedgerService, { workflowId: 'crash-at-step' }).settle('a');
    await crashed;
    await kit.runUntilIdle();
    expect(await handle.getResult()).toBe('reserved a');
    expect(Object.fromEntries(runs)).toEqual({ reserve: 2, book: 1 });
    expect(await booked('a')).toBe(1);
    expect((await client.getStatus('crash-at-step'))!.recoveryAttempts).toBeGreaterThanOrEqual(1);
  });

  it('at a @Transaction: its insert rolls back with the crash (it does not commit with its checkpoint), runs again, and commits once', async () => {
    const crashed = kit.crashAt('LedgerService.book');
    const handle = await client.start(LedgerService, { workflowId: 'crash-at-transaction' }).settle('b');
    await crashed;
    await kit.runUntilIdle();
    expect(await handle.getResult()).toBe('reserved b');
    expect(Object.fromEntries(runs)).toEqual({ reserve: 1, book: 2 });
    expect(await booked('b')).toBe(1);
  });

  it('names the registered steps when no step has the name', () => {
    expect(() => kit.crashAt('LedgerService.nope')).toThrow(DbosInvalidArgumentError);
    expect(() => kit.crashAt('LedgerService.nope')).toThrow('there are: LedgerService.book, LedgerService.reserve');
  });
});

describe('DbosTestingModule.forRootAsync', () => {
  it.each([
    ['useFactory', DbosTestingModule.forRootAsync({ useFactory: () => ({ applicationVersion: 'from-factory' }) }), 'from-factory'],
    ['useClass', DbosTestingModule.forRootAsync({ useClass: TestOptions }), 'from-class'],
  ])('with %s: the options it gives, a schema of the test own (dropped at close), and the kit', async (_how, dbos, version) => {
    const app = await start(dbos);
    const resolved = app.get<{ schema: string; applicationVersion: string }>(DBOS_RESOLVED_OPTIONS, { strict: false });
    try {
      expect(resolved.applicationVersion).toBe(version);
      expect(resolved.schema).toMatch(/^dbos_test_[0-9a-f]{12}$/);
      expect(await schemaExists(resolved.schema)).toBe(true);
      const kit = app.get(DbosTestKit);
      const before = kit.now();
      await kit.advanceTime('1d');
      expect(kit.now() - before).toBeGreaterThanOrEqual(86_400_000);
    } finally {
      await app.close();
    }
    expect(await schemaExists(resolved.schema)).toBe(false);
  });

  it('keeps a schema the options name (it is not dropped at close)', async () => {
    const schema = uniqueSchema('named');
    const app = await start(DbosTestingModule.forRootAsync({ useFactory: async () => ({ schema }) }));
    await app.close();
    expect(await schemaExists(schema)).toBe(true);
    await dropSchema(schema);
  });
});
