import { DbosInvalidArgumentError } from '../errors/invalid-argument.error';
import type { WorkflowAttributes } from '../interfaces/workflow-options.interface';

/** The limits of a workflow's attributes: they sit in its status row and in an index, so they stay small. */
export const ATTRIBUTE_LIMITS = {
  /** Most pairs on one workflow. */
  maxCount: 16,
  /** Longest key, in characters. */
  maxKeyLength: 64,
  /** Longest value, in characters. */
  maxValueLength: 256,
  /** Largest total of the pairs as stored (JSON, UTF-8 bytes). */
  maxTotalBytes: 2048,
} as const;

/**
 * The attributes to store, checked against ATTRIBUTE_LIMITS; null when none are given. `what`
 * says where they came from, for the error.
 */
export function attributesToStore(attributes: WorkflowAttributes | undefined, what = 'Workflow attributes'): WorkflowAttributes | null {
  if (attributes === undefined) return null;
  const pairs = checkedPairs(attributes, what);
  if (pairs.length > ATTRIBUTE_LIMITS.maxCount) {
    throw new DbosInvalidArgumentError(`${what} have ${pairs.length} pairs; at most ${ATTRIBUTE_LIMITS.maxCount} are allowed.`);
  }
  if (pairs.length === 0) return null;
  const stored = Object.fromEntries(pairs);
  const bytes = Buffer.byteLength(JSON.stringify(stored), 'utf8');
  if (bytes > ATTRIBUTE_LIMITS.maxTotalBytes) {
    throw new DbosInvalidArgumentError(
      `${what} take ${bytes} bytes as JSON; at most ${ATTRIBUTE_LIMITS.maxTotalBytes} are allowed: keep them to short labels and ids.`,
    );
  }
  return stored;
}

/** The filter of `list({ attributes })` as JSON text for a containment match; null when it filters nothing. */
export function attributesFilter(attributes: WorkflowAttributes | undefined): string | null {
  if (attributes === undefined) return null;
  const pairs = checkedPairs(attributes, 'The attributes filter');
  return pairs.length === 0 ? null : JSON.stringify(Object.fromEntries(pairs));
}

function checkedPairs(attributes: unknown, what: string): [string, string][] {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) {
    throw new DbosInvalidArgumentError(`${what} must be an object of string keys and string values, like { tenant: 'acme' }.`);
  }
  const pairs = Object.entries(attributes as Record<string, unknown>);
  for (const [key, value] of pairs) {
    if (key.length === 0 || key.length > ATTRIBUTE_LIMITS.maxKeyLength) {
      throw new DbosInvalidArgumentError(
        `${what}: the key ${JSON.stringify(key.slice(0, 40))} must have 1 to ${ATTRIBUTE_LIMITS.maxKeyLength} characters (it has ${key.length}).`,
      );
    }
    if (typeof value !== 'string') {
      throw new DbosInvalidArgumentError(
        `${what}: the value of "${key}" is ${value === null ? 'null' : typeof value}; values are strings (convert numbers and dates with String()).`,
      );
    }
    if (value.length > ATTRIBUTE_LIMITS.maxValueLength) {
      throw new DbosInvalidArgumentError(
        `${what}: the value of "${key}" has ${value.length} characters; at most ${ATTRIBUTE_LIMITS.maxValueLength} are allowed.`,
      );
    }
  }
  return pairs as [string, string][];
}
