import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DbosContext, DbosModule, Step, Workflow, WorkflowClient } from '../lib';

@Injectable()
class F {
  constructor(private readonly dbos: DbosContext) {}
  @Step() async one() { return 1; }
  @Workflow() async child(i: number) { await this.one(); return i; }
  @Workflow() async parent(n: number) {
    const handles = [];
    let t = Date.now();
    for (let i = 0; i < n; i++) {
      handles.push(await this.dbos.startWorkflow(F, { queue: 'fanout' }).child(i));
      if (i % 500 === 499) { console.log(`${i + 1}: ${Date.now() - t} ms`); t = Date.now(); }
    }
    return this.dbos.waitAll(handles);
  }
}
@Module({ imports: [DbosModule.forRoot({ database: { url: process.env.DATABASE_URL }, schema: 'prof_' + process.pid, queues: [{ name: 'fanout', concurrency: 50 }] })], providers: [F] })
class M {}
async function main() {
  const app = await NestFactory.createApplicationContext(M, { logger: ['error', 'warn'] });
  const c = app.get(WorkflowClient);
  const t = Date.now();
  const r = await (await c.start(F).parent(Number(process.env.N ?? 3000))).getResult();
  console.log('done', (r as number[]).length, Date.now() - t);
  await app.close();
}
void main();
