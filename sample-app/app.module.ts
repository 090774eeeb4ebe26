import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { DbosExceptionFilter, DbosModule } from '../lib';
import { APP_CONFIG, type AppConfig } from './app.config';
import { CheckoutModule } from './checkout/checkout.module';
import { DatabaseModule } from './database/database.module';
import { OrdersModule } from './orders/orders.module';
import { StockModule } from './stock/stock.module';

@Module({
  imports: [
    // First: it is shut down after DbosModule (see DatabaseModule).
    DatabaseModule,
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
  ],
  // Errors of the workflow engine as HTTP statuses: unknown workflow 404, database down 503, ...
  providers: [{ provide: APP_FILTER, useClass: DbosExceptionFilter }],
})
export class AppModule {}
