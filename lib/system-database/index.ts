export * from './system-database';
export * from './workflow-status.repository';
export * from './checkpoint.repository';
export * from './embedded-postgres';
export * from './entities';
