/** What every part of the executor reads about this process; shared, one object per module. */
export interface ExecutorSettings {
  executorId: string;
  /** Set from the options, or to the hash of the registered code once discovery has run. */
  applicationVersion: string;
  maxRecoveryAttempts: number;
  shutdownTimeoutMs: number;
  /** Largest serialized input, output, message or event accepted. */
  maxPayloadBytes: number;
  /** The executor lease: without a successful heartbeat for half of it, no new step starts until ownership is re-confirmed. */
  executorLeaseMs: number;
}
