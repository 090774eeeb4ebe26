import { DbosSerializationError } from '../errors/serialization.error';
import * as dbosErrors from '../errors';
import { errorChain, MAX_CAUSES, type ErrorSummary } from './error-cause';

/**
 * Durable value codec: JSON plus Date, BigInt, Map, Set, undefined, non-finite numbers and Error.
 *
 * Encoding runs through JSON.stringify with a replacer (native speed) that tags the extra types
 * as `{ "$t": tag, "v": payload }` and rejects anything that would not come back the same:
 * functions, symbols, class instances, circular values.
 */
const TAG = '$t';

type Tagged = { [TAG]: string; v?: unknown };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields?: Record<string, unknown>;
}

export function serialize(value: unknown, what = 'value'): string {
  try {
    return JSON.stringify(value, replacer) as string;
  } catch (err) {
    if (err instanceof DbosSerializationError) {
      throw new DbosSerializationError(what, err.reason);
    }
    const message = (err as Error).message ?? String(err);
    throw new DbosSerializationError(what, /circular/i.test(message) ? 'it contains a circular reference' : message);
  }
}

export function deserialize<T = unknown>(text: string | null | undefined): T {
  if (text === null || text === undefined) return undefined as T;
  const value = JSON.parse(text, reviver) as unknown;
  // A reviver that returns undefined deletes the key; undefined comes back as a marker, swapped here.
  return (text.includes(UNDEFINED_TAG) ? restoreUndefined(value) : value) as T;
}

const UNDEFINED_TAG = `"${TAG}":"undefined"`;
const UNDEFINED = Symbol('undefined');

function restoreUndefined(value: unknown): unknown {
  if (value === UNDEFINED) return undefined;
  if (value instanceof Map) {
    return new Map(Array.from(value, ([k, v]) => [restoreUndefined(k), restoreUndefined(v)]));
  }
  if (value instanceof Set) return new Set(Array.from(value, restoreUndefined));
  if (Array.isArray(value) || (value !== null && typeof value === 'object' && !(value instanceof Date))) {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) record[key] = restoreUndefined(record[key]);
  }
  return value;
}

function replacer(this: unknown, key: string, value: unknown): unknown {
  // `value` has already been through toJSON (a Date arrives as a string): look at the raw one.
  const raw = (this as Record<string, unknown>)[key];
  switch (typeof raw) {
    case 'string':
    case 'boolean':
      return raw;
    case 'number':
      return Number.isFinite(raw) ? raw : { [TAG]: 'Number', v: String(raw) };
    case 'undefined':
      return { [TAG]: 'undefined' };
    case 'bigint':
      return { [TAG]: 'BigInt', v: raw.toString() };
    case 'function':
      throw new DbosSerializationError('value', `${describeKey(key)} is a function`);
    case 'symbol':
      throw new DbosSerializationError('value', `${describeKey(key)} is a symbol`);
  }
  if (raw === null) return null;
  if (Array.isArray(raw)) return value;
  if (raw instanceof Date) return { [TAG]: 'Date', v: Number.isNaN(raw.getTime()) ? null : raw.toISOString() };
  if (raw instanceof Map) return { [TAG]: 'Map', v: Array.from(raw.entries()) };
  if (raw instanceof Set) return { [TAG]: 'Set', v: Array.from(raw.values()) };
  if (raw instanceof Error) return { [TAG]: 'Error', v: errorPayload(raw) };
  const proto = Object.getPrototypeOf(raw);
  if (proto !== Object.prototype && proto !== null) {
    // A plain data class (a DTO from ValidationPipe({ transform: true }), an entity without
    // behaviour) is data: stored as a plain object of its own properties. Behaviour would be lost.
    const methods = methodsOf(proto);
    if (methods.length > 0) {
      const className = (raw as object).constructor?.name ?? 'anonymous class';
      throw new DbosSerializationError(
        'value',
        `${describeKey(key)} is an instance of ${className}, whose class has methods (${methods.slice(0, 3).join(', ')}${methods.length > 3 ? ', …' : ''}) ` +
          `that would be lost; pass plain data instead (e.g. { ...value }, or an id)`,
      );
    }
  }
  if (Object.prototype.hasOwnProperty.call(raw, TAG)) {
    // A user object that happens to use our tag key: store its entries instead.
    return { [TAG]: 'Object', v: Object.entries(raw as object) };
  }
  return value;
}

/** Own properties (methods, accessors) of the classes between `proto` and Object.prototype. */
function methodsOf(proto: object): string[] {
  const names: string[] = [];
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) if (name !== 'constructor') names.push(name);
  }
  return names;
}

function reviver(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const tag = (value as Tagged)[TAG];
  if (tag === undefined) return value;
  const v = (value as Tagged).v;
  switch (tag) {
    case 'undefined':
      return UNDEFINED;
    case 'Number':
      return Number(v);
    case 'BigInt':
      return BigInt(v as string);
    case 'Date':
      return new Date(v === null ? NaN : (v as string));
    case 'Map':
      return new Map(v as [unknown, unknown][]);
    case 'Set':
      return new Set(v as unknown[]);
    case 'Error':
      return reviveError(v as SerializedError);
    case 'Object':
      return Object.fromEntries(v as [string, unknown][]);
    default:
      return value;
  }
}

function describeKey(key: string): string {
  return key === '' ? 'the value' : `the property "${key}"`;
}

function errorPayload(err: Error): SerializedError {
  const fields: Record<string, unknown> = {};
  for (const key of Object.keys(err)) {
    if (key !== 'name' && key !== 'message' && key !== 'stack') fields[key] = (err as unknown as Record<string, unknown>)[key];
  }
  if (err.cause !== undefined) fields.cause = boundedCause(err);
  return { name: err.name, message: err.message, stack: err.stack, fields };
}

/**
 * The error's cause as it is, unless its chain is circular or longer than MAX_CAUSES: then a copy
 * of the chain cut there, of `{ name, message, code }` each, so a recorded error stays bounded.
 */
function boundedCause(err: Error): unknown {
  let depth = 0;
  const seen = new Set<unknown>([err]);
  for (let c: unknown = err.cause; c instanceof Error; c = c.cause) {
    if (seen.has(c) || ++depth > MAX_CAUSES) return rebuiltChain(errorChain(err.cause).slice(0, MAX_CAUSES));
    seen.add(c);
  }
  return err.cause;
}

function rebuiltChain(chain: ErrorSummary[]): Error | undefined {
  return chain.reduceRight<Error | undefined>((cause, { name, message, code }) => {
    const error = reviveError({ name, message, fields: code === undefined ? {} : { code } });
    delete error.stack;
    if (cause) error.cause = cause;
    return error;
  }, undefined);
}

const knownErrors = new Map<string, new (...args: never[]) => Error>(
  Object.entries(dbosErrors).filter(([, ctor]) => typeof ctor === 'function') as [string, new (...args: never[]) => Error][],
);
knownErrors.set('TypeError', TypeError);
knownErrors.set('RangeError', RangeError);
knownErrors.set('SyntaxError', SyntaxError);
knownErrors.set('Error', Error);

const revivedClasses = new Map<string, new (message: string) => Error>();

/** An Error of the same class name; our own error classes come back as themselves (instanceof works). */
function errorClassNamed(name: string): new (message: string) => Error {
  let ctor = revivedClasses.get(name);
  if (!ctor) {
    const named = { [name]: class extends Error {} };
    ctor = named[name];
    revivedClasses.set(name, ctor);
  }
  return ctor;
}

export function reviveError(payload: SerializedError): Error {
  const known = knownErrors.get(payload.name);
  const err: Error = known ? (Object.create(known.prototype) as Error) : new (errorClassNamed(payload.name))(payload.message);
  Object.defineProperty(err, 'message', { value: payload.message, writable: true, configurable: true });
  Object.defineProperty(err, 'name', { value: payload.name, writable: true, configurable: true });
  if (payload.stack !== undefined) {
    Object.defineProperty(err, 'stack', { value: payload.stack, writable: true, configurable: true });
  }
  Object.assign(err, payload.fields ?? {});
  return err;
}

/** Error values are stored the same way as results, so a replay rethrows exactly what was thrown. */
export function serializeError(err: unknown): string {
  if (err instanceof Error) {
    try {
      return serialize(err, 'error');
    } catch {
      // An error whose own fields cannot be stored keeps its class, message, stack and the chain of its causes.
      const copy = reviveError({ name: err.name, message: err.message, stack: err.stack });
      const cause = rebuiltChain(errorChain(err.cause).slice(0, MAX_CAUSES));
      if (cause) copy.cause = cause;
      return serialize(copy, 'error');
    }
  }
  return serialize(new Error(`Non-error value thrown: ${safeString(err)}`), 'error');
}

export function deserializeError(text: string): Error {
  const value = deserialize<unknown>(text);
  return value instanceof Error ? value : new Error(safeString(value));
}

function safeString(value: unknown): string {
  try {
    return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}
