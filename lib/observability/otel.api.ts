import type * as OtelApi from '@opentelemetry/api';

/** The `@opentelemetry/api` module the app installed, or null: it is an optional peer dependency. */
export type Otel = typeof OtelApi;

let loaded: Otel | null | undefined;

/** Loads `@opentelemetry/api` on first use; null (and never asked again) when the app does not have it. */
export function otel(): Otel | null {
  if (loaded === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('@opentelemetry/api') as Otel;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
