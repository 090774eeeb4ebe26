import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DbosHealthIndicator } from 'nestjs-dbos';

/** For the orchestrator: `live` restarts a process whose database is gone, `ready` routes traffic after recovery. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dbos: DbosHealthIndicator,
  ) {}

  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([() => this.dbos.isAlive('workflows')]);
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.dbos.isReady('workflows')]);
  }
}
