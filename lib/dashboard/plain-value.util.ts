/** How deep a value is shown; deeper parts are summarised. */
const MAX_DEPTH = 12;

/**
 * A stored value as plain JSON for the page: errors keep their stack and fields (their own
 * toJSON shows only name and message), dates become ISO text, maps and sets become arrays,
 * bigints text; cycles and very deep parts are summarised instead of failing.
 */
export function plainValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (typeof value === 'bigint') return `${value.toString()}n`;
  if (typeof value === 'function' || typeof value === 'symbol') return String(value);
  if (typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[…]';
  seen.add(value);
  try {
    const inner = (v: unknown) => plainValue(v, depth + 1, seen);
    if (value instanceof Error) return plainError(value, inner);
    if (Array.isArray(value)) return value.map(inner);
    if (value instanceof Map) return { '[Map]': [...value.entries()].map(([k, v]) => [inner(k), inner(v)]) };
    if (value instanceof Set) return { '[Set]': [...value.values()].map(inner) };
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inner(v)]));
  } finally {
    seen.delete(value);
  }
}

/** An error as `{ name, message, stack, ...fields }`. */
export function plainError(error: Error, inner: (v: unknown) => unknown = (v) => plainValue(v)): Record<string, unknown> {
  const fields = Object.fromEntries(Object.entries(error).map(([k, v]) => [k, inner(v)]));
  return { ...fields, name: error.name, message: error.message, stack: error.stack ?? null };
}
