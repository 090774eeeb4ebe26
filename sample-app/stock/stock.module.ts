import { Module } from '@nestjs/common';
import { DatabaseModule } from '../database/database.module';
import { StockSeeder } from './stock.seeder';

@Module({
  imports: [DatabaseModule],
  providers: [StockSeeder],
})
export class StockModule {}
