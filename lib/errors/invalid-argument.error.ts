import { DbosError } from './dbos.error';

/** An argument the engine cannot accept as given (an over-long workflow id, for one). */
export class DbosInvalidArgumentError extends DbosError {}
