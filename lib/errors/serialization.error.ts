import { DbosError } from './dbos.error';

/** A workflow input, step output or message cannot be stored durably. */
export class DbosSerializationError extends DbosError {
  constructor(
    readonly what: string,
    readonly reason: string,
  ) {
    super(
      `Cannot serialize ${what}: ${reason}. Workflow arguments, results and messages must be JSON ` +
        `values, Date, BigInt, Map, Set, undefined or Error; pass plain data (e.g. an id) instead.`,
    );
  }
}
