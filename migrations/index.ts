import { InitialSchema1764028800000 } from './1764028800000-initial-schema';

/** Every migration of the system schema, oldest first. Add new ones; never edit a released one. */
export const SYSTEM_MIGRATIONS = [InitialSchema1764028800000];
