import { Module, type OnApplicationShutdown } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { telemetrySdk } from './prometheus';

@Module({ controllers: [MetricsController] })
export class TelemetryModule implements OnApplicationShutdown {
  /** After the app closed (its last workflows' spans ended): flush them. */
  async onApplicationShutdown(): Promise<void> {
    await telemetrySdk.shutdown?.();
  }
}
