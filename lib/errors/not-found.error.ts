import { DbosError } from './dbos.error';

/** A workflow, workflow name or queue that does not exist. */
export class DbosNotFoundError extends DbosError {}
