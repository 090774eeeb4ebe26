import { randomBytes } from 'node:crypto';
import { databaseUrl, sql } from './database';

/**
 * A login role of its own on the test server (a superuser, so the module can create its schema),
 * with the password of DATABASE_URL (the embedded server asks for one), dropped by `drop()`.
 */
export class LoginRole {
  private constructor(readonly name: string) {}

  static async create(prefix: string): Promise<LoginRole> {
    const role = new LoginRole(`${prefix}_${randomBytes(4).toString('hex')}`);
    const password = decodeURIComponent(new URL(databaseUrl()).password);
    await sql(`CREATE ROLE ${role.name} LOGIN SUPERUSER${password ? ` PASSWORD '${password.replace(/'/g, "''")}'` : ''}`);
    return role;
  }

  /** `url` with this role as the user. */
  url(url: string): string {
    const withRole = new URL(url);
    withRole.username = this.name;
    return withRole.toString();
  }

  /** Runs `ALTER ROLE <name> <change>`, then ends the role's sessions: the new sessions have the change. */
  async alter(change: string): Promise<void> {
    await sql(`ALTER ROLE ${this.name} ${change}`);
    await this.endSessions();
  }

  async endSessions(): Promise<void> {
    await sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [this.name]);
  }

  async drop(): Promise<void> {
    await this.endSessions();
    await sql(`DROP ROLE IF EXISTS ${this.name}`);
  }
}
