import { Module } from '@nestjs/common';
import { OrderEventsController } from './order-events.controller';
import { OrdersController } from './orders.controller';

@Module({
  controllers: [OrdersController, OrderEventsController],
})
export class OrdersModule {}
