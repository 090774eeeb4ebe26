import { Injectable, Logger, Module, Scope } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DbosConfigurationError, DbosModule, Step, Transaction, Workflow } from '../../lib';
import { WorkflowRegistry } from '../../lib/discovery/workflow.registry';
import { WorkflowExecutor } from '../../lib/execution/workflow.executor';
import { dropSchema, uniqueSchema, databaseOptions } from '../support/database';

@Injectable()
class Billing {
  @Workflow() async charge(): Promise<string> {
    return this.authorize();
  }
  @Workflow({ name: 'billing.refund' }) async refund(): Promise<void> {}
  @Step() async authorize(): Promise<string> {
    return 'ok';
  }
  @Transaction() async book(): Promise<void> {}
  undecorated(): string {
    return 'plain';
  }
}

@Injectable()
class DuplicateName {
  @Workflow({ name: 'billing.refund' }) async other(): Promise<void> {}
}

@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  @Workflow() async perRequest(): Promise<void> {}
}

@Injectable()
class DoubleDecorated {
  @Workflow()
  @Step()
  async both(): Promise<void> {}
}

@Injectable()
class NoDeadline {
  @Step({ timeoutMs: 0 }) async call(): Promise<void> {}
}

describe('DbosExplorer', () => {
  const schema = uniqueSchema('explore');
  afterAll(() => dropSchema(schema));

  const compile = (providers: unknown[], extra = {}) => {
    @Module({ imports: [DbosModule.forRoot({ database: databaseOptions(), schema, ...extra })], providers: providers as never[] })
    class AppModule {}
    return Test.createTestingModule({ imports: [AppModule] }).compile();
  };

  it('registers workflows by ClassName.methodName or their given name, and wraps steps', async () => {
    const moduleRef = await compile([Billing]);
    const app = await moduleRef.createNestApplication({ logger: false }).init();
    const registry = app.get(WorkflowRegistry);
    expect(registry.workflowNames()).toEqual(['Billing.charge', 'billing.refund']);
    expect(registry.getWorkflowOf(Billing, 'charge')?.name).toBe('Billing.charge');
    const billing = app.get(Billing);
    expect(billing.undecorated()).toBe('plain');
    await expect(billing.charge()).resolves.toBe('ok');
    await app.close();
  });

  it('derives the application version from the registered code unless one is configured', async () => {
    const a = await (await compile([Billing])).createNestApplication({ logger: false }).init();
    const hashed = a.get(WorkflowExecutor).settings.applicationVersion;
    expect(hashed).toMatch(/^[0-9a-f]{32}$/);
    await a.close();
    const b = await (await compile([Billing, DuplicateNameFree])).createNestApplication({ logger: false }).init();
    expect(b.get(WorkflowExecutor).settings.applicationVersion).not.toBe(hashed);
    await b.close();
    const c = await (await compile([Billing], { applicationVersion: '2026-11-24' })).createNestApplication({ logger: false }).init();
    expect(c.get(WorkflowExecutor).settings.applicationVersion).toBe('2026-11-24');
    await c.close();
  });

  it('refuses two workflows with one name at startup', async () => {
    const moduleRef = await compile([Billing, DuplicateName]);
    const error = await moduleRef
      .createNestApplication({ logger: false })
      .init()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(DbosConfigurationError);
    expect((error as Error).message).toMatch(/Two workflows are registered as "billing.refund": Billing.refund and DuplicateName.other/);
    await moduleRef.close();
  });

  it('refuses a method that is both a workflow and a step', async () => {
    const moduleRef = await compile([DoubleDecorated]);
    await expect(moduleRef.createNestApplication({ logger: false }).init()).rejects.toThrow(/DoubleDecorated.both has more than one/);
    await moduleRef.close();
  });

  it('refuses a @Step whose timeoutMs is not a positive number, naming the method', async () => {
    const moduleRef = await compile([NoDeadline]);
    const init = moduleRef.createNestApplication({ logger: false }).init();
    await expect(init).rejects.toBeInstanceOf(DbosConfigurationError);
    await expect(init).rejects.toThrow(/@Step on NoDeadline.call: timeoutMs must be a positive number of milliseconds, got 0/);
    await moduleRef.close();
  });

  it('warns about and skips request-scoped providers', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const moduleRef = await compile([PerRequest]);
    const app = await moduleRef.createNestApplication().init();
    expect(app.get(WorkflowRegistry).workflowNames()).toEqual([]);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/PerRequest is request-scoped or transient/));
    warn.mockRestore();
    await app.close();
  });
});

@Injectable()
class DuplicateNameFree {
  @Workflow() async extra(): Promise<number> {
    return 1;
  }
}
