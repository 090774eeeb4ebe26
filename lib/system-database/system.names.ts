/**
 * Names the system schema's SQL (migrations, repositories) and the code that listens share: the
 * messages on a schema's notification channel (see `notificationChannel`), and the internal queue.
 * Each message is a prefix and an id; waiters of NotificationListener wait on those keys.
 */
export const NOTICE_PREFIX = {
  /** A workflow's status changed: `status:<workflowId>`. */
  status: 'status:',
  /** Several statuses changed: `statuses:["<workflowId>", ...]`, heard as one `status:` key per id. */
  statuses: 'statuses:',
  /** A queue may have room or work: `queue:<queueName>`. */
  queue: 'queue:',
  /** A message arrived for a workflow: `msg:<workflowId>`. */
  message: 'msg:',
  /** An event of a workflow was set: `evt:<workflowId>`. */
  event: 'evt:',
  /** A stream of a workflow grew or closed: `strm:<workflowId>`. */
  stream: 'strm:',
  /** A runtime schedule was created, changed or deleted: `schedule:<name>`. */
  schedule: 'schedule:',
} as const;

export const statusKey = (workflowId: string): string => `${NOTICE_PREFIX.status}${workflowId}`;
export const messageKey = (workflowId: string): string => `${NOTICE_PREFIX.message}${workflowId}`;
export const eventKey = (workflowId: string): string => `${NOTICE_PREFIX.event}${workflowId}`;
export const streamKey = (workflowId: string): string => `${NOTICE_PREFIX.stream}${workflowId}`;

/** Queue on which workflows wait that any executor of their version may run (resume, fork from a client, enqueue_workflow). */
export const INTERNAL_QUEUE = '_dbos_internal';
