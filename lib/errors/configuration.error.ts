import { DbosError } from './dbos.error';

/** The module options or the decorated code cannot work as given. */
export class DbosConfigurationError extends DbosError {}
