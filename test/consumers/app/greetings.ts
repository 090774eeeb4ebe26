import { Body, Controller, Get, Injectable, Param, Post } from '@nestjs/common';
import { DbosContext, Step, Transaction, Workflow, WorkflowClient } from 'nestjs-dbos';

export interface Greeting {
  greeting: string;
  databaseTime: string;
}

@Injectable()
export class GreetingService {
  constructor(private readonly dbos: DbosContext) {}

  @Workflow()
  async greet(name: string): Promise<Greeting> {
    const greeting = await this.compose(name);
    const databaseTime = await this.readClock();
    return { greeting, databaseTime };
  }

  @Step()
  async compose(name: string): Promise<string> {
    return `Hello, ${name}!`;
  }

  /** A TypeORM transaction on the app's database, checkpointed with it. */
  @Transaction()
  async readClock(): Promise<string> {
    const rows: { now: string }[] = await this.dbos.entityManager.query('SELECT now()::text AS now');
    return rows[0].now;
  }
}

@Controller('greetings')
export class GreetingsController {
  constructor(private readonly workflows: WorkflowClient) {}

  @Post()
  async start(@Body() body: { name: string }): Promise<{ workflowId: string }> {
    const handle = await this.workflows.start(GreetingService).greet(body.name);
    return { workflowId: handle.workflowId };
  }

  @Get(':workflowId/result')
  result(@Param('workflowId') workflowId: string): Promise<Greeting> {
    return this.workflows.retrieve<Greeting>(workflowId).getResult({ timeoutMs: 20_000 });
  }
}
