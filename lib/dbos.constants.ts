export const DBOS_MODULE_OPTIONS = Symbol('DBOS_MODULE_OPTIONS');
export const DBOS_RESOLVED_OPTIONS = Symbol('DBOS_RESOLVED_OPTIONS');
export const DBOS_SYSTEM_DATABASE = Symbol('DBOS_SYSTEM_DATABASE');
export const DBOS_EXECUTOR_SETTINGS = Symbol('DBOS_EXECUTOR_SETTINGS');

export const WORKFLOW_METADATA = 'dbos:workflow';
export const STEP_METADATA = 'dbos:step';
export const TRANSACTION_METADATA = 'dbos:transaction';
export const SCHEDULED_METADATA = 'dbos:scheduled';

export const DEFAULT_SCHEMA = 'dbos';

/** How long recv, getEvent (context and client) wait by default before giving up with null. */
export const DEFAULT_WAIT_MS = 60_000;
