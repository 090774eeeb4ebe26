import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Stock } from './stock.entity';

/** What a fresh database starts with: plenty of widgets. */
export const INITIAL_STOCK: Stock[] = [{ sku: 'widget', count: 1_000_000 }];

/** Inserts the initial stock rows that are missing; counts already there are left as they are. */
@Injectable()
export class StockSeeder implements OnModuleInit {
  private readonly logger = new Logger(StockSeeder.name);

  constructor(private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    const result = await this.dataSource.createQueryBuilder().insert().into(Stock).values(INITIAL_STOCK).orIgnore().returning('sku').execute();
    const seeded = (result.raw as { sku: string }[]).map((row) => row.sku);
    if (seeded.length > 0) this.logger.log(`Seeded stock of ${seeded.join(', ')}`);
  }
}
