import { Body, Controller, Get, HttpCode, Param, Post, Query, Sse, UseFilters, UseGuards, type MessageEvent, type Type } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { DbosExceptionFilter } from '../filters/dbos-exception.filter';
import { DashboardActionGuard } from './dashboard-action.guard';
import { DashboardOperationsService, type ExecutorsView, type OverviewView, type QueueView } from './dashboard-operations.service';
import { DashboardWorkflowsService, type ActionResult, type WorkflowDetail, type WorkflowListPage } from './dashboard-workflows.service';
import { DashboardFeed } from './dashboard.feed';
import type { DashboardSettings } from './dashboard.options';
import type { ListQuery } from './list-query.parser';

/** The JSON API of the page, under `<path>/api`; the controller class is made per forRoot() with its path and guards. */
export function dashboardApiController(settings: DashboardSettings): Type {
  @Controller(settings.path)
  @UseGuards(...settings.guards)
  @UseFilters(DbosExceptionFilter)
  class DashboardApiController {
    constructor(
      readonly workflows: DashboardWorkflowsService,
      readonly operations: DashboardOperationsService,
      readonly feed: DashboardFeed,
    ) {}

    @Get('api/config')
    config(): { readOnly: boolean; applicationVersion: string } {
      return { readOnly: settings.readOnly, applicationVersion: this.operations.currentVersion() };
    }

    @Get('api/workflows')
    list(@Query() query: ListQuery): Promise<WorkflowListPage> {
      return this.workflows.list(query);
    }

    /** Server-sent events: `workflow` with a WorkflowSummary each time a workflow's status row changes. */
    @Sse('api/feed')
    live(): Observable<MessageEvent> {
      return this.feed.events$;
    }

    @Get('api/workflows/:id')
    detail(@Param('id') workflowId: string): Promise<WorkflowDetail> {
      return this.workflows.detail(workflowId);
    }

    @Post('api/workflows/:id/cancel')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    cancel(@Param('id') workflowId: string): Promise<ActionResult> {
      return this.workflows.cancel(workflowId);
    }

    @Post('api/workflows/:id/resume')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    resume(@Param('id') workflowId: string): Promise<ActionResult> {
      return this.workflows.resume(workflowId);
    }

    @Post('api/workflows/:id/fork')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    fork(@Param('id') workflowId: string, @Body() body: { fromStep?: unknown } | undefined): Promise<ActionResult> {
      return this.workflows.fork(workflowId, body?.fromStep);
    }

    @Get('api/queues')
    queues(): Promise<QueueView[]> {
      return this.operations.queueViews();
    }

    @Get('api/executors')
    executors(): Promise<ExecutorsView> {
      return this.operations.executorsView();
    }

    /** Moves the PENDING and ENQUEUED workflows of `fromVersion` to this process's version. */
    @Post('api/versions/move')
    @HttpCode(200)
    @UseGuards(DashboardActionGuard)
    moveVersion(@Body() body: { fromVersion?: unknown } | undefined): Promise<{ moved: number; applicationVersion: string }> {
      return this.workflows.moveToCurrentVersion(body?.fromVersion);
    }

    @Get('api/overview')
    overview(): Promise<OverviewView> {
      return this.operations.overview();
    }
  }
  return DashboardApiController;
}
