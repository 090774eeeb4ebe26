import type { DbosDatabase } from '../dbos.database';
import type { WorkflowRegistry } from '../discovery/workflow.registry';
import type { RunningWorkflows } from '../execution/running-workflows.table';
import type { QueueRegistry } from '../queues/queue.registry';
import type { TestClock } from './test.clock';

/** Why the module is not idle right now; undefined when it is. */
export type Busy = { running: string[] } | { reason: string };

/**
 * Whether any workflow can progress without time passing or a message arriving: every local run
 * waits on the clock (a sleep, a recv/getEvent, another workflow), no start or launch is in
 * flight, and no queue holds a workflow it has room to start now.
 */
export class IdleProbe {
  constructor(
    private readonly clock: TestClock,
    private readonly runs: RunningWorkflows,
    private readonly database: DbosDatabase,
    private readonly registry: WorkflowRegistry,
    private readonly queues: QueueRegistry,
  ) {}

  async check(): Promise<Busy | undefined> {
    const blocked = this.clock.blockedWorkflows();
    const running = this.runs.ids().filter((id) => !blocked.has(id));
    if (running.length > 0) return { running };
    if (this.runs.inFlight > 0) return { reason: `${this.runs.inFlight} workflow(s) starting or launching` };
    const ready = await this.claimableQueues();
    return ready.length > 0 ? { reason: `queued workflows ready to start on ${ready.join(', ')}` } : undefined;
  }

  /** Queues with a workflow due now and room to start it (rate limits lift with real time; they are not counted). */
  private async claimableQueues(): Promise<string[]> {
    const queues = this.queues.list();
    const names = this.registry.workflowNames();
    if (queues.length === 0 || names.length === 0) return [];
    const { system } = this.database;
    const rows = await system.unnamed<{ queue_name: string; ready: string; running: string }>(
      `SELECT queue_name,
              count(*) FILTER (WHERE status = 'ENQUEUED' AND (delay_until IS NULL OR delay_until <= $2) AND workflow_name = ANY($3::text[])) AS ready,
              count(*) FILTER (WHERE status = 'PENDING') AS running
         FROM {schema}.workflow_status
        WHERE queue_name = ANY($1::text[]) AND status IN ('ENQUEUED', 'PENDING')
        GROUP BY queue_name`,
      [queues.map((q) => q.name), this.clock.now(), names],
    );
    const byName = new Map(queues.map((q) => [q.name, q]));
    return rows
      .filter((row) => {
        const queue = byName.get(row.queue_name)!;
        const hasRoom =
          (queue.concurrency === undefined || Number(row.running) < queue.concurrency) &&
          (queue.workerConcurrency === undefined || this.runs.runningOnQueue(queue.name) < queue.workerConcurrency);
        return Number(row.ready) > 0 && hasRoom;
      })
      .map((row) => row.queue_name);
  }
}
