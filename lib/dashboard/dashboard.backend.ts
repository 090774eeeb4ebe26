import { Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { DBOS_EXECUTOR_SETTINGS, DBOS_SYSTEM_DATABASE } from '../dbos.constants';
import { WorkflowClient } from '../client/workflow.client';
import { DashboardRepository } from '../system-database/dashboard.repository';
import { createRepositories } from '../system-database/system.repositories';
import { VersionAdoptionRepository } from '../system-database/version-adoption.repository';
import type { NotificationListener } from '../system-database/notification.listener';
import type { SystemDatabase } from '../system-database/system.database';

/** What the dashboard reads of DbosModule's database provider. */
interface ModuleDatabase {
  system: SystemDatabase;
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
  private versions?: VersionAdoptionRepository;
  private display?: WorkflowClient;

  constructor(private readonly moduleRef: ModuleRef) {}

  get reads(): DashboardRepository {
    this.repository ??= new DashboardRepository(this.moduleDatabase().system);
    return this.repository;
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
