import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosPayloadTooLargeError } from '../errors/payload-too-large.error';
import { serialize } from '../serialization/value.codec';

/** Longest workflow id accepted (ids are keys of several tables and appear in logs). */
export const MAX_WORKFLOW_ID_LENGTH = 255;

export function checkWorkflowId(workflowId: string): void {
  if (typeof workflowId !== 'string' || workflowId.length === 0 || workflowId.length > MAX_WORKFLOW_ID_LENGTH) {
    throw new DbosInvalidArgumentError(
      `Workflow id ${JSON.stringify(String(workflowId).slice(0, 40))}${String(workflowId).length > 40 ? '…' : ''} is not valid: ` +
        `use a non-empty string of at most ${MAX_WORKFLOW_ID_LENGTH} characters (got ${String(workflowId).length}).`,
    );
  }
}

/** Serializes `value` and refuses it when larger than `maxBytes`, before anything is written. */
export function serializeWithin(value: unknown, what: string, maxBytes: number): string {
  const text = serialize(value, what);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    throw new DbosPayloadTooLargeError(what, bytes, maxBytes);
  }
  return text;
}
