export * from './workflow.executor';
export * from './shutdown-interrupt';
