import type { Pool } from 'pg';
import { backoff } from '../common/backoff.util';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { CREDENTIALS_REFUSED } from './connection-errors.util';

/**
 * SQLSTATEs of a server refusing a login: a wrong password (28P01, e.g. rotated under a running
 * app), no such role or no pg_hba entry (28000), a server starting up or a standby not yet
 * accepting (57P03), no connection slot left (53300).
 */
const REFUSED_LOGIN_CODES = new Set([...CREDENTIALS_REFUSED, '57P03', '53300']);

/** True when `err` is a login the server refused (see REFUSED_LOGIN_CODES). */
export function isRefusedLogin(err: unknown): boolean {
  return REFUSED_LOGIN_CODES.has(String((err as { code?: unknown } | null)?.code));
}

/**
 * Spaces out the new connections of one pool while its logins are refused. Each caller that finds
 * no idle connection would open one, and every paused workflow, heartbeat, poll and HTTP request
 * is a caller: without this gate a refused login costs the server a login attempt per call, as
 * fast as the traffic comes. After a refusal, one login is tried per backoff step (100 ms doubling
 * to 5 s); meanwhile callers get DbosDatabaseUnavailableError at once. A connection that succeeds
 * opens the gate again.
 */
export class LoginGate {
  private refusals = 0;
  private nextAttemptAt = 0;
  private lastRefusal = '';

  /** Watches `pool`'s new connections: one that gets through opens the gate. */
  watch(pool: Pool): void {
    pool.on('connect', () => {
      this.refusals = 0;
      this.nextAttemptAt = 0;
    });
  }

  /** Throws DbosDatabaseUnavailableError when this call would open a connection before the next attempt is due. */
  admit(pool: Pool, target: string): void {
    if (this.refusals === 0 || pool.idleCount > 0) return;
    const now = Date.now();
    if (now < this.nextAttemptAt) {
      throw new DbosDatabaseUnavailableError(target, `${this.lastRefusal} (login refused; next attempt in ${this.nextAttemptAt - now} ms)`);
    }
    // This caller is the attempt of this step: the others wait for the next one.
    this.nextAttemptAt = now + backoff(this.refusals);
  }

  /** Records `err` when it is a refused login: the next attempt waits one backoff step more. */
  observe(err: unknown): void {
    if (!isRefusedLogin(err)) return;
    this.refusals++;
    this.lastRefusal = (err as Error).message;
    this.nextAttemptAt = Date.now() + backoff(this.refusals);
  }
}
