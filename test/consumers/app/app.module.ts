import { Module } from '@nestjs/common';
import { DbosModule } from 'nestjs-dbos';
import { extensionControllers, extensionImports, extensionProviders } from './extensions.js';
import { GreetingService, GreetingsController } from './greetings.js';

@Module({
  imports: [
    DbosModule.forRoot({
      database: { url: process.env.DATABASE_URL },
      schema: process.env.DBOS_SCHEMA ?? 'dbos',
      shutdownTimeoutMs: 2_000,
    }),
    ...extensionImports,
  ],
  providers: [GreetingService, ...extensionProviders],
  controllers: [GreetingsController, ...extensionControllers],
})
export class AppModule {}
