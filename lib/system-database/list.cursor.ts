import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import type { ListWorkflowsOptions } from '../interfaces/workflow-status.interface';

/** The column a list is ordered by: updated_at when only an updated-time range is given, else created_at. */
export type ListOrder = 'created' | 'updated';

export function listOrderOf(options: ListWorkflowsOptions): ListOrder {
  const updatedRange = options.updatedAfter !== undefined || options.updatedBefore !== undefined;
  const createdRange = options.createdAfter !== undefined || options.createdBefore !== undefined;
  return updatedRange && !createdRange ? 'updated' : 'created';
}

/** The opaque position after a row in list order: its time in that order (created or updated) and id, and the direction. */
export function encodeListCursor(row: { createdAt: number; updatedAt: number; workflowId: string }, sortDesc: boolean, order: ListOrder = 'created'): string {
  const position = order === 'updated' ? [row.updatedAt, row.workflowId, sortDesc ? 1 : 0, 'u'] : [row.createdAt, row.workflowId, sortDesc ? 1 : 0];
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

export function decodeListCursor(cursor: string, sortDesc: boolean, order: ListOrder): { at: number; workflowId: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = null;
  }
  if (!Array.isArray(decoded) || typeof decoded[0] !== 'number' || typeof decoded[1] !== 'string') {
    throw new DbosInvalidArgumentError(`"${cursor}" is not a cursor returned by listPage().`);
  }
  if ((decoded[2] === 1) !== sortDesc) throw new DbosInvalidArgumentError('A cursor must be used with the sortDesc of the page that returned it.');
  if ((decoded[3] === 'u' ? 'updated' : 'created') !== order) {
    throw new DbosInvalidArgumentError('A cursor must be used with the filters of the page that returned it (an updated-time range orders by update time).');
  }
  return { at: decoded[0], workflowId: decoded[1] };
}
