export * from './dbos-module-options.interface';
export * from './workflow-options.interface';
export * from './workflow-status.interface';
export * from './workflow-event.interface';
export * from './transaction-adapter.interface';
export * from './payload-options.interface';
export * from './schedule.interface';
