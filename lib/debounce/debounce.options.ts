/** How calls of one debounce key collapse into one run (`WorkflowClient.debounce`). */
export interface DebounceOptions {
  /**
   * The run starts this long after the last call of the burst; a call within it of the previous
   * one joins the burst (the run then takes that call's arguments).
   */
  periodMs: number;
  /** The run starts at most this long after the first call of the burst, however many calls follow. Default: no bound. */
  maxWaitMs?: number;
  /** The queue the run waits on (declared in the app that runs it). Default: the internal queue, served by every process that registers the workflow. */
  queue?: string;
  /** Lower runs first, on a queue with `priorityEnabled` (taken from the burst's first call). */
  priority?: number;
  /** Partition of a partitioned queue (taken from the burst's first call). */
  partitionKey?: string;
  /** Deadline of the run, from when it is dequeued; default the workflow's `@Workflow({ timeoutMs })`. */
  timeoutMs?: number;
}

/** `WorkflowClient.debounce` by workflow name, from any process (this one need not have its class). */
export interface DebounceByNameOptions extends DebounceOptions {
  /** The registered workflow name (`ClassName.methodName` unless `@Workflow({ name })` says otherwise). */
  workflowName: string;
  /** Only executors of this version take the run; default: any version. */
  applicationVersion?: string;
}

/** What a debounced run is, as the calling process knows its workflow (from its registration, or by name). */
export interface DebounceTarget {
  workflowName: string;
  className: string | null;
  /** Only executors of this version take it; null: any version. */
  applicationVersion: string | null;
  /** The workflow's own `@Workflow({ timeoutMs })`. */
  timeoutMs?: number;
  /** Now (epoch ms) on the clock the dispatchers compare delays to (the module's workflow clock). */
  now: number;
  /** Arguments larger than this are refused before anything is written. */
  maxPayloadBytes?: number;
}
