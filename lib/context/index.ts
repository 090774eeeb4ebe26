export * from './dbos-context';
export * from './dbos-runtime.interface';
export * from './workflow-context.storage';
