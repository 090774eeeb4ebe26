import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { WorkflowStatus, type ListWorkflowsOptions, type WorkflowStatusType } from '../interfaces/workflow-status.interface';

/** The query string of `GET <path>/api/workflows`, as the page sends it. */
export interface ListQuery {
  status?: string;
  name?: string;
  queue?: string;
  executor?: string;
  version?: string;
  idPrefix?: string;
  /** Attributes the workflows must all have: `key=value` pairs, comma-separated (`tenant=acme,region=eu`). */
  attr?: string;
  /** Created at or after (ISO time or epoch ms). */
  from?: string;
  /** Created before (ISO time or epoch ms). */
  to?: string;
  order?: string;
  cursor?: string;
  limit?: string;
}

export const MAX_PAGE_SIZE = 500;
const DEFAULT_PAGE_SIZE = 50;

/** The list options of a query; a malformed value is a DbosInvalidArgumentError (400) naming it. */
export function parseListQuery(query: ListQuery): Omit<ListWorkflowsOptions, 'offset'> & { limit: number } {
  const options: Omit<ListWorkflowsOptions, 'offset'> & { limit: number } = {
    limit: parseLimit(query.limit),
    sortDesc: parseOrder(query.order),
    loadPayloads: false,
  };
  if (query.status) options.status = parseStatuses(query.status);
  const text = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());
  options.workflowName = text(query.name);
  options.queue = text(query.queue);
  options.executorId = text(query.executor);
  options.applicationVersion = text(query.version);
  options.workflowIdPrefix = text(query.idPrefix);
  options.attributes = parseAttributes(text(query.attr));
  options.createdAfter = parseTime(query.from, 'from');
  options.createdBefore = parseTime(query.to, 'to');
  options.cursor = text(query.cursor);
  for (const key of Object.keys(options) as (keyof typeof options)[]) if (options[key] === undefined) delete options[key];
  return options;
}

/** `tenant=acme,region=eu` as { tenant: 'acme', region: 'eu' }; a pair without `=` is a 400 naming it. */
function parseAttributes(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const attributes: Record<string, string> = {};
  for (const pair of text.split(',').map((p) => p.trim())) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new DbosInvalidArgumentError(`attr must be key=value pairs separated by commas (tenant=acme,region=eu), not "${pair}".`);
    attributes[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return attributes;
}

function parseStatuses(text: string): WorkflowStatusType[] {
  const known = Object.values(WorkflowStatus) as string[];
  const statuses = text.split(',').map((s) => s.trim().toUpperCase());
  const unknown = statuses.filter((s) => !known.includes(s));
  if (unknown.length > 0) throw new DbosInvalidArgumentError(`Unknown status "${unknown.join(', ')}": use one of ${known.join(', ')}.`);
  return statuses as WorkflowStatusType[];
}

function parseLimit(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_PAGE_SIZE;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE_SIZE)
    throw new DbosInvalidArgumentError(`limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, not "${text}".`);
  return n;
}

function parseOrder(text: string | undefined): boolean {
  if (text === undefined || text === '' || text === 'desc') return true;
  if (text === 'asc') return false;
  throw new DbosInvalidArgumentError(`order must be "asc" or "desc", not "${text}".`);
}

/** An ISO time or epoch milliseconds. */
export function parseTime(text: string | undefined, name: string): Date | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const date = /^\d+$/.test(text.trim()) ? new Date(Number(text)) : new Date(text);
  if (Number.isNaN(date.getTime()))
    throw new DbosInvalidArgumentError(`${name} must be an ISO time (2026-01-31T12:00:00Z) or epoch milliseconds, not "${text}".`);
  return date;
}
