export * from './workflow.decorator';
export * from './step.decorator';
export * from './transaction.decorator';
export * from './scheduled.decorator';
