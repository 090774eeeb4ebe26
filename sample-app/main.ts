import './telemetry/otel'; // first: the SDK instruments http before Nest loads it
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { AddressInfo } from 'node:net';
import { APP_CONFIG, type AppConfig } from './app.config';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  const logger = new Logger('Bootstrap');
  const config = app.get<AppConfig>(APP_CONFIG);
  if (config.rabbitmqUrl) {
    // A hybrid app: orders also arrive as `orders.created` events (see OrderEventsController).
    // noAck: false, so an event is acknowledged only once its workflow's start is durable.
    app.connectMicroservice<MicroserviceOptions>({
      transport: Transport.RMQ,
      options: {
        urls: [config.rabbitmqUrl],
        queue: config.ordersQueue,
        noAck: false,
        queueOptions: { durable: true, deadLetterExchange: '', deadLetterRoutingKey: `${config.ordersQueue}.dead` },
      },
    });
    await app.startAllMicroservices();
    logger.log(`Consuming orders.created events from RabbitMQ queue "${config.ordersQueue}"`);
  }
  await app.listen(process.env.PORT ?? 3000);
  const { port } = app.getHttpServer().address() as AddressInfo;
  logger.log(`Checkout sample listening on http://localhost:${port}`);
}

void bootstrap();
