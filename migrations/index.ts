import { InitialSchema1764028800000 } from './1764028800000-initial-schema';
import { Communication1764028800001 } from './1764028800001-communication';
import { Queues1764028800002 } from './1764028800002-queues';
import { Scheduler1764028800003 } from './1764028800003-scheduler';
import { Executors1764028800004 } from './1764028800004-executors';
import { BatchedStatusNotify1764028800005 } from './1764028800005-batched-status-notify';
import { RunFencing1764028800006 } from './1764028800006-run-fencing';
import { EnqueueFunction1764028800010 } from './1764028800010-enqueue-function';
import { ListIndexes1764028800020 } from './1764028800020-list-indexes';
import { RowStatusNotify1764028800030 } from './1764028800030-row-status-notify';
import { RareStatusNameIndex1764028800031 } from './1764028800031-rare-status-name-index';
import { OutcomeNotices1764028800032 } from './1764028800032-outcome-notices';
import { TraceContext1764028800033 } from './1764028800033-trace-context';
import { WorkflowAttributes1764028800034 } from './1764028800034-workflow-attributes';
import { Debounce1764028800036 } from './1764028800036-debounce';
import { Schedules1764028800037 } from './1764028800037-schedules';
import { StepAttempts1764028800038 } from './1764028800038-step-attempts';
import { EnqueueTraceContext1764028800039 } from './1764028800039-enqueue-trace-context';
import { OutcomeWatch1764028800040 } from './1764028800040-outcome-watch';

/** Every migration of the system schema, oldest first. Add new ones; never edit a released one. */
export const SYSTEM_MIGRATIONS = [
  InitialSchema1764028800000,
  Communication1764028800001,
  Queues1764028800002,
  Scheduler1764028800003,
  Executors1764028800004,
  BatchedStatusNotify1764028800005,
  RunFencing1764028800006,
  EnqueueFunction1764028800010,
  ListIndexes1764028800020,
  RowStatusNotify1764028800030,
  RareStatusNameIndex1764028800031,
  OutcomeNotices1764028800032,
  TraceContext1764028800033,
  WorkflowAttributes1764028800034,
  Debounce1764028800036,
  Schedules1764028800037,
  StepAttempts1764028800038,
  EnqueueTraceContext1764028800039,
  OutcomeWatch1764028800040,
];
