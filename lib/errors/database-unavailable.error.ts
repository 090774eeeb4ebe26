import { DbosError } from './dbos.error';

/** Postgres cannot be reached. */
export class DbosDatabaseUnavailableError extends DbosError {
  constructor(
    readonly target: string,
    readonly causeMessage: string,
  ) {
    super(`The workflow database at ${target} is unavailable: ${causeMessage}`);
  }
}
