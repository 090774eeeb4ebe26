export * from './dbos-context';
export * from './workflow-context.storage';
