import type { ValueTransformer } from 'typeorm';

/** Postgres bigint columns hold epoch milliseconds; node-postgres returns them as strings. */
export const bigintAsNumber: ValueTransformer = {
  to: (value: number | null) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
