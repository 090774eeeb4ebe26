import type { RecoveryRunner } from './recovery.runner';

/**
 * What the app may ask of recovery: whether this executor's PENDING workflows (left by an earlier
 * life of it) have all been started again. Recovery itself runs in the background from bootstrap.
 */
export class RecoveryService {
  constructor(private readonly runner: RecoveryRunner) {}

  /** True once every workflow recovery found has been started again. */
  get isRecovered(): boolean {
    return this.runner.isRecovered;
  }

  /** Resolves with the number of resumed workflows once every one of them has been started again. */
  whenRecovered(): Promise<number> {
    return this.runner.whenRecovered();
  }
}
