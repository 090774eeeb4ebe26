import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AddressInfo } from 'node:net';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  await app.listen(process.env.PORT ?? 3000);
  const { port } = app.getHttpServer().address() as AddressInfo;
  new Logger('Bootstrap').log(`Checkout sample listening on http://localhost:${port}`);
}

void bootstrap();
