import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DATABASE_SERVER, type DatabaseServer } from './database-server';

/** Stops the embedded Postgres if the app started one (TypeOrmModule has closed the DataSource by then). */
@Injectable()
export class DatabaseShutdown implements OnApplicationShutdown {
  constructor(@Inject(DATABASE_SERVER) private readonly server: DatabaseServer) {}

  async onApplicationShutdown(): Promise<void> {
    await this.server.stop();
  }
}
