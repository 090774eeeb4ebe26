import { randomBytes } from 'node:crypto';
import { sql } from './database';

/** A login role of its own on the test server (a superuser, so the module can create its schema), dropped by `drop()`. */
export class LoginRole {
  private constructor(readonly name: string) {}

  static async create(prefix: string): Promise<LoginRole> {
    const role = new LoginRole(`${prefix}_${randomBytes(4).toString('hex')}`);
    await sql(`CREATE ROLE ${role.name} LOGIN SUPERUSER`);
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
