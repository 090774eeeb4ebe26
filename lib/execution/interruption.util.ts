import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { CheckpointTakenError } from './checkpoint-taken.error';
import { DbosRunSuperseded } from './run-superseded.error';
import { DbosShutdownInterrupt } from './shutdown-interrupt.error';

/**
 * Errors that say nothing about the operation itself, so they are never recorded as its outcome:
 * a shutdown, a run that no longer owns its workflow, a deferred checkpoint another run wrote, and an outage of the module's own
 * connections. The last is tagged where it is raised (DbosDatabaseUnavailableError); an
 * ECONNREFUSED from an HTTP API a step calls is that step's failure, retried and recorded.
 */
export function isTransient(err: unknown): boolean {
  return (
    err instanceof DbosShutdownInterrupt ||
    err instanceof DbosRunSuperseded ||
    err instanceof DbosDatabaseUnavailableError ||
    err instanceof CheckpointTakenError
  );
}
