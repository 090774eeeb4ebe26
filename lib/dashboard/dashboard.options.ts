import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';

/** `DbosDashboardModule.forRoot(options)`. */
export interface DbosDashboardOptions {
  /** Where the page is served; its JSON API is under `<path>/api`. Default `/dbos`. */
  path?: string;
  /** Nest guards run before every dashboard route: the page, its assets, the API and the actions. */
  guards?: (CanActivate | Type<CanActivate>)[];
  /** Hides the actions (cancel, resume, fork, move to the current version) and answers them 403. Default false. */
  readOnly?: boolean;
  /** Modules the guards need providers of (an auth module, for instance). */
  imports?: ModuleMetadata['imports'];
}

/** The options with their defaults, as the dashboard's parts read them. */
export interface DashboardSettings {
  path: string;
  guards: (CanActivate | Type<CanActivate>)[];
  readOnly: boolean;
}

export const DASHBOARD_SETTINGS = Symbol('DBOS_DASHBOARD_SETTINGS');

export function resolveDashboardOptions(options: DbosDashboardOptions): DashboardSettings {
  const trimmed = (options.path ?? '/dbos').replace(/^\/+|\/+$/g, '');
  return { path: `/${trimmed}`, guards: options.guards ?? [], readOnly: options.readOnly === true };
}
