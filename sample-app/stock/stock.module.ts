import { Module } from '@nestjs/common';
import { StockSeeder } from './stock.seeder';

@Module({
  providers: [StockSeeder],
})
export class StockModule {}
