import { describeWithCauses, errorSummary } from '../serialization/error-cause';

/** Output helpers of the CLI: plain padded tables, ISO dates, short durations and value summaries. */

const EMPTY = '-';

/** Columns padded to their widest cell, two spaces apart; the last column is not padded. */
export function renderTable(header: string[], rows: string[][]): string {
  const cells = [header, ...rows].map((row) => row.map(oneLine));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => row[column]?.length ?? 0)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `Label:  value` lines, the values aligned. */
export function renderFields(fields: [string, string][]): string {
  const width = Math.max(...fields.map(([label]) => label.length)) + 1;
  return fields.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${value}`).join('\n');
}

export function formatDate(date: Date | null | undefined): string {
  return date ? date.toISOString() : EMPTY;
}

export function orEmpty(text: string | null | undefined): string {
  return text === null || text === undefined || text === '' ? EMPTY : text;
}

/** `850ms`, `1.2s`, `3m 05s`, `2h 10m`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m ${pad2(seconds % 60)}s`;
  return `${Math.floor(seconds / 3_600)}h ${pad2(Math.floor(seconds / 60) % 60)}m`;
}

export function elapsed(start: Date | null, end: Date | null): string {
  if (!start) return EMPTY;
  if (!end) return 'running';
  return formatDuration(end.getTime() - start.getTime());
}

/** `Name: message` of an error, then of each of its causes (`; caused by ...`). */
export function describeError(error: Error): string {
  return describeWithCauses(error);
}

/** A value as compact JSON, cut to `max` characters. */
export function summarize(value: unknown, max: number): string {
  const text = value instanceof Error ? describeError(value) : (JSON.stringify(value, jsonReplacer) ?? String(value));
  return truncate(oneLine(text), max);
}

/** Pretty JSON of what the library returns: dates as ISO, errors, BigInt, Map and Set made readable. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, jsonReplacer, 2);
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return errorJson(value);
  if (value instanceof Set) return Array.from(value);
  if (value instanceof Map) return mapJson(value);
  return value;
}

function errorJson(error: Error): Record<string, unknown> {
  const json: Record<string, unknown> = { ...(error as unknown as Record<string, unknown>), name: error.name, message: error.message, stack: error.stack };
  if (error.cause !== undefined) json.cause = errorSummary(error).cause;
  return json;
}

function mapJson(map: Map<unknown, unknown>): unknown {
  const entries = Array.from(map.entries());
  return entries.every(([key]) => typeof key === 'string') ? Object.fromEntries(entries) : entries;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function oneLine(text: string): string {
  return text.replace(/\s*[\r\n\t]+\s*/g, ' ');
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}
