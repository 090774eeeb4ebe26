import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DbosDashboardModule, DbosExceptionFilter, DbosModule } from 'nestjs-dbos';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from './app.config';
import { CheckoutModule } from './checkout/checkout.module';
import { appTypeOrmOptions } from './database/app-data-source';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { OrdersModule } from './orders/orders.module';
import { StockModule } from './stock/stock.module';
import { TelemetryModule } from './telemetry/telemetry.module';

@Module({
  imports: [
    // First: the server is stopped after everything that uses it (see DatabaseModule).
    DatabaseModule,
    TypeOrmModule.forRootAsync(appTypeOrmOptions),
    // One database for app data and workflow checkpoints: @Transaction steps commit with their checkpoint.
    DbosModule.forRootAsync({
      inject: [APP_CONFIG, DataSource],
      useFactory: (config: AppConfig, dataSource: DataSource) => ({
        database: { dataSource },
        schema: config.dbosSchema,
      }),
    }),
    StockModule,
    CheckoutModule,
    OrdersModule,
    // GET /health/live and /health/ready.
    HealthModule,
    // GET /metrics for Prometheus (the OpenTelemetry SDK is started by main.ts, see telemetry/otel.ts).
    TelemetryModule,
    // The operations dashboard at http://localhost:3000/dbos (put it behind the app's auth with `guards`).
    DbosDashboardModule.forRoot({ path: '/dbos' }),
  ],
  // Errors of the workflow engine as HTTP statuses: unknown workflow 404, database down 503, ...
  providers: [{ provide: APP_FILTER, useClass: DbosExceptionFilter }],
})
export class AppModule {}
