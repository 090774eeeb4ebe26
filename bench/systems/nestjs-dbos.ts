// The benchmark workflow on nestjs-dbos, written as an application would: a provider with
// decorated methods in a Nest application context, the workflow called directly.
import 'reflect-metadata';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DbosModule, Step, Workflow } from '../../lib';
import { main } from '../harness';

@Injectable()
class BenchService {
  @Step() async s1() { return 1; }
  @Step() async s2() { return 2; }
  @Step() async s3() { return 3; }

  @Workflow()
  async wf(i: number) {
    await this.s1();
    await this.s2();
    await this.s3();
    return i;
  }
}

function benchModule(url: string) {
  @Module({ imports: [DbosModule.forRoot({ database: { url } })], providers: [BenchService] })
  class BenchModule {}
  return BenchModule;
}

let app: INestApplicationContext;
let service: BenchService;

main('nestjs-dbos', {
  async start(url: string) {
    app = await NestFactory.createApplicationContext(benchModule(url), { logger: ['error', 'warn'] });
    service = app.get(BenchService);
  },
  runOne: (i: number) => service.wf(i),
  stop: () => app.close(),
});
