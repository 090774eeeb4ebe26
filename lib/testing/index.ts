export { DbosTestingModule } from './dbos-testing.module';
export { DbosTestKit, type RunUntilIdleOptions } from './dbos.test-kit';
export type { Duration } from './duration.util';
