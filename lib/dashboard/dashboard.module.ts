import { Module, type DynamicModule } from '@nestjs/common';
import { DashboardActionGuard } from './dashboard-action.guard';
import { dashboardApiController } from './dashboard-api.controller';
import { DashboardOperationsService } from './dashboard-operations.service';
import { dashboardPageController } from './dashboard-page.controller';
import { DashboardWorkflowsService } from './dashboard-workflows.service';
import { DashboardAssets } from './dashboard.assets';
import { DashboardBackend } from './dashboard.backend';
import { DashboardFeed } from './dashboard.feed';
import { DASHBOARD_SETTINGS, resolveDashboardOptions, type DbosDashboardOptions } from './dashboard.options';

/**
 * The operations dashboard, served by the app itself: `DbosDashboardModule.forRoot({ path: '/dbos' })`
 * beside `DbosModule.forRoot()`. The page is at `<path>`, its JSON API under `<path>/api`.
 */
@Module({})
export class DbosDashboardModule {
  static forRoot(options: DbosDashboardOptions = {}): DynamicModule {
    const settings = resolveDashboardOptions(options);
    return {
      module: DbosDashboardModule,
      imports: options.imports ?? [],
      controllers: [dashboardPageController(settings, new DashboardAssets()), dashboardApiController(settings)],
      providers: [
        { provide: DASHBOARD_SETTINGS, useValue: settings },
        DashboardBackend,
        DashboardWorkflowsService,
        DashboardOperationsService,
        DashboardFeed,
        DashboardActionGuard,
      ],
    };
  }
}

export type { DbosDashboardOptions } from './dashboard.options';
