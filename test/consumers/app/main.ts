import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  // Which module system this build runs as: `require` exists only in a CommonJS module.
  const format = typeof require === 'function' ? 'commonjs' : 'esm';
  console.log(`CONSUMER LISTENING ${await app.getUrl()} format=${format}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
