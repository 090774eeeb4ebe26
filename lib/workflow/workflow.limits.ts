import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import { DbosSerializationError } from '../errors/serialization.error';
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
    throw new DbosSerializationError(
      what,
      `it is ${bytes} bytes serialized, over the limit of ${maxBytes} (maxPayloadBytes); store large data elsewhere and pass a reference`,
    );
  }
  return text;
}
