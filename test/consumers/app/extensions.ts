import { Controller, Get, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { DbosExceptionFilter, DbosHealthIndicator } from 'nestjs-dbos';

/** Liveness and readiness, as the README's health section wires them with @nestjs/terminus. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly workflows: DbosHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.workflows.isAlive('workflows')]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.workflows.isReady('workflows')]);
  }
}

/**
 * What a consumer app adds around its workflows, kept apart so that every consumer gets it: the
 * health endpoints (terminus) and the library's exception filter. The HTTP checks that go with
 * them are listed in ../run.js (`appChecks`).
 */
export const extensionImports: (Type<unknown> | DynamicModule)[] = [TerminusModule];
export const extensionControllers: Type<unknown>[] = [HealthController];
export const extensionProviders: Provider[] = [{ provide: APP_FILTER, useClass: DbosExceptionFilter }];
