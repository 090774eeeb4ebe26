export * from './workflow-status.entity';
export * from './operation-output.entity';
