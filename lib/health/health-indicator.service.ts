import type { ModuleRef } from '@nestjs/core';

/** What a health indicator reports under its key, as @nestjs/terminus reads it. */
export type HealthReport<Details> = Record<string, Details & { status: 'up' | 'down' }>;

/** The part of @nestjs/terminus' `HealthIndicatorSession` the indicator uses. */
export interface HealthIndicatorSessionLike {
  up(data: Record<string, unknown>): HealthReport<Record<string, unknown>>;
  down(data: Record<string, unknown>): HealthReport<Record<string, unknown>>;
}

/** The part of @nestjs/terminus' `HealthIndicatorService` (terminus 10.3 and later) the indicator uses. */
export interface HealthIndicatorServiceLike {
  check(key: string): HealthIndicatorSessionLike;
}

type HealthIndicatorServiceClass = new () => HealthIndicatorServiceLike;

/**
 * Terminus' HealthIndicatorService: the app's instance when TerminusModule is imported, else one
 * of its own; without @nestjs/terminus installed (it is an optional peer), a stand-in that builds
 * the same `{ [key]: { status, ...details } }` objects.
 */
export function resolveHealthIndicatorService(moduleRef?: ModuleRef): HealthIndicatorServiceLike {
  const serviceClass = loadTerminusHealthIndicatorService();
  if (!serviceClass) return PLAIN_HEALTH_INDICATOR_SERVICE;
  try {
    return moduleRef?.get(serviceClass, { strict: false }) ?? new serviceClass();
  } catch {
    // TerminusModule is not imported anywhere: the service keeps no state worth sharing.
    return new serviceClass();
  }
}

function loadTerminusHealthIndicatorService(): HealthIndicatorServiceClass | undefined {
  try {
    // Loaded on first use, not imported: the package must load without the optional peer.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const terminus = require('@nestjs/terminus') as { HealthIndicatorService?: HealthIndicatorServiceClass };
    return terminus.HealthIndicatorService;
  } catch {
    return undefined;
  }
}

const PLAIN_HEALTH_INDICATOR_SERVICE: HealthIndicatorServiceLike = {
  check: (key) => ({
    up: (data) => ({ [key]: { ...data, status: 'up' } }),
    down: (data) => ({ [key]: { ...data, status: 'down' } }),
  }),
};
