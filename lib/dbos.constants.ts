export const DBOS_MODULE_OPTIONS = Symbol('DBOS_MODULE_OPTIONS');
export const DBOS_RESOLVED_OPTIONS = Symbol('DBOS_RESOLVED_OPTIONS');
export const DBOS_SYSTEM_DATABASE = Symbol('DBOS_SYSTEM_DATABASE');
export const DBOS_EXECUTOR_SETTINGS = Symbol('DBOS_EXECUTOR_SETTINGS');
/** The module's WorkflowClock (real time, unless a testing module replaces it). */
export const DBOS_CLOCK = Symbol('DBOS_CLOCK');

export const WORKFLOW_METADATA = 'dbos:workflow';
export const STEP_METADATA = 'dbos:step';
export const TRANSACTION_METADATA = 'dbos:transaction';
export const SCHEDULED_METADATA = 'dbos:scheduled';
export const WORKFLOW_EVENT_METADATA = 'dbos:workflow-event';

export const DEFAULT_SCHEMA = 'dbos';

/** Connections in a module's system pool, unless `database.poolSize` says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

/** How long startup keeps retrying an unreachable database (module, standalone client), unless `startupRetryMs` says otherwise. */
export const DEFAULT_STARTUP_RETRY_MS = 30_000;

/** statement_timeout of the module's own connections, unless `database.statementTimeoutMs` says otherwise. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/** How long recv, getEvent (context and client) wait by default before giving up with null. */
export const DEFAULT_WAIT_MS = 60_000;
