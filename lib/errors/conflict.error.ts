import { DbosError } from './dbos.error';

/** A write that contradicts what is already recorded (workflow id reuse, deduplication). */
export class DbosConflictError extends DbosError {}
