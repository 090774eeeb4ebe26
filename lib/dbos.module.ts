import { Module, type DynamicModule, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { DBOS_MODULE_OPTIONS } from './dbos.constants';
import { createDbosProviders, DBOS_EXPORTS } from './dbos.providers';
import { DbosConfigurationError } from './errors/configuration.error';
import type { DbosModuleAsyncOptions, DbosModuleOptions, DbosOptionsFactory } from './interfaces/dbos-module-options.interface';

@Module({})
export class DbosModule {
  static forRoot(options: DbosModuleOptions = {}): DynamicModule {
    return DbosModule.assemble([{ provide: DBOS_MODULE_OPTIONS, useValue: options }], []);
  }

  static forRootAsync(options: DbosModuleAsyncOptions): DynamicModule {
    return DbosModule.assemble(DbosModule.createAsyncOptionsProviders(options), options.imports ?? []);
  }

  private static assemble(optionsProviders: Provider[], imports: DynamicModule['imports']): DynamicModule {
    return {
      module: DbosModule,
      global: true,
      imports: [DiscoveryModule, ...(imports ?? [])],
      providers: [...optionsProviders, ...createDbosProviders()],
      exports: DBOS_EXPORTS,
    };
  }

  private static createAsyncOptionsProviders(options: DbosModuleAsyncOptions): Provider[] {
    if (options.useFactory) {
      return [{ provide: DBOS_MODULE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }];
    }
    const factoryClass = options.useClass ?? options.useExisting;
    if (!factoryClass) {
      throw new DbosConfigurationError('DbosModule.forRootAsync() needs one of useFactory, useClass or useExisting.');
    }
    const optionsProvider: Provider = {
      provide: DBOS_MODULE_OPTIONS,
      useFactory: (factory: DbosOptionsFactory) => factory.createDbosOptions(),
      inject: [factoryClass],
    };
    return options.useClass ? [optionsProvider, { provide: options.useClass, useClass: options.useClass }] : [optionsProvider];
  }
}
