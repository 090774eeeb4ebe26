export * from './workflow.decorator';
export * from './step.decorator';
export * from './transaction.decorator';
export * from './scheduled.decorator';
export * from './on-workflow-event.decorator';
