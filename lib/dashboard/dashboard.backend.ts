import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DBOS_EXECUTOR_SETTINGS, DBOS_SYSTEM_DATABASE } from '../dbos.constants';
import { WorkflowClient } from '../client/workflow.client';
import { DashboardRepository } from '../system-database/dashboard.repository';
import { createRepositories } from '../system-database/system.repositories';
import { VersionAdoptionRepository } from '../system-database/version-adoption.repository';
import type { NotificationListener } from '../system-database/notification.listener';
import type { OperationOutputRow } from '../system-database/system.rows';
import type { SystemDatabase } from '../system-database/system.database';
import type { SystemRepositories } from '../system-database/system.repositories';

/** What the dashboard reads of DbosModule's database provider. */
interface ModuleDatabase {
  system: SystemDatabase;
  repositories: Pick<SystemRepositories, 'checkpoints'>;
  listener: NotificationListener;
}

/**
 * The dashboard's way to DbosModule's system database, its notifications and this process's
 * application version. DbosModule keeps these providers to itself; they are looked up on first
 * use, once every module's providers exist, whichever module Nest built first.
 */
@Injectable()
export class DashboardBackend {
  private database?: ModuleDatabase;
  private repository?: DashboardRepository;
  private primaryRepository?: DashboardRepository;
  private versions?: VersionAdoptionRepository;
  private display?: WorkflowClient;

  constructor(private readonly moduleRef: ModuleRef) {}

  /** The pages' reads: on the read replica when `database.readUrl` is set (they may lag; docs/replicas.md). */
  get reads(): DashboardRepository {
    this.repository ??= new DashboardRepository(this.moduleDatabase().system.reads, this.moduleDatabase().system.payloads);
    return this.repository;
  }

  /**
   * The same reads on the primary, for what a replica's lag would get wrong: the live feed (its
   * lookback assumes a change is readable within seconds of its notification), executor liveness
   * (heartbeat ages), and the workflows an action is about to move.
   */
  get current(): DashboardRepository {
    this.primaryRepository ??= new DashboardRepository(this.moduleDatabase().system, this.moduleDatabase().system.payloads);
    return this.primaryRepository;
  }

  /** A workflow's recorded steps on the primary: what a fork's step range is checked against. */
  steps(workflowId: string): Promise<OperationOutputRow[]> {
    return this.moduleDatabase().repositories.checkpoints.loadAll(workflowId);
  }

  get adoption(): VersionAdoptionRepository {
    this.versions ??= new VersionAdoptionRepository(this.moduleDatabase().system);
    return this.versions;
  }

  /**
   * A client for the pages' reads of statuses and steps: payloads this process has no key for
   * (an ops dashboard deployed without `encryption`, a key since removed) read as `[encrypted]`.
   */
  get displayClient(): WorkflowClient {
    if (!this.display) {
      const { system, listener } = this.moduleDatabase();
      const display = system.withPayloads(system.payloads.forDisplay());
      this.display = WorkflowClient.over({ ...createRepositories(display), listener, system: display });
    }
    return this.display;
  }

  get listener(): NotificationListener {
    return this.moduleDatabase().listener;
  }

  /** The version this process runs (the hash of its registered code unless configured). */
  get applicationVersion(): string {
    return this.executorSettings().applicationVersion;
  }

  /** How long an executor may be silent before its workflows are adopted. */
  get executorLeaseMs(): number {
    return this.executorSettings().executorLeaseMs;
  }

  private executorSettings(): { applicationVersion: string; executorLeaseMs: number } {
    return this.moduleRef.get(DBOS_EXECUTOR_SETTINGS, { strict: false });
  }

  private moduleDatabase(): ModuleDatabase {
    this.database ??= this.moduleRef.get<ModuleDatabase>(DBOS_SYSTEM_DATABASE, { strict: false });
    return this.database;
  }
}
