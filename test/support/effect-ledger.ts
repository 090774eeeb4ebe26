import { Injectable, type Type } from '@nestjs/common';
import { DbosContext, Transaction, Workflow } from '../../lib';

export interface EffectLedger {
  effect(step: number): Promise<void>;
  fiveSteps(): Promise<number>;
}

/**
 * A provider whose workflow `Ledger.fiveSteps` runs five @Transaction steps, each inserting one
 * row (workflow_id, step) into `table`, with a durable sleep of `sleepMs` after each: count the
 * rows to see every effect happened exactly once.
 */
export function effectLedger(table: string, sleepMs: number): Type<EffectLedger> {
  @Injectable()
  class Ledger implements EffectLedger {
    constructor(readonly dbos: DbosContext) {}

    @Transaction() async effect(step: number): Promise<void> {
      await this.dbos.entityManager.query(`INSERT INTO ${table} (workflow_id, step) VALUES ($1, $2)`, [this.dbos.workflowId, step]);
    }

    @Workflow() async fiveSteps(): Promise<number> {
      for (let step = 1; step <= 5; step++) {
        await this.effect(step);
        await this.dbos.sleep(sleepMs);
      }
      return 5;
    }
  }
  return Ledger;
}
