import { describeWithCauses, errorChain, errorSummary, MAX_CAUSES } from '../../lib/serialization/error-cause';
import { DbosNondeterminismError, DbosSerializationError } from '../../lib';
import { deserialize, deserializeError, serialize, serializeError } from '../../lib/serialization/value.codec';

const roundTrip = <T>(value: T): T => deserialize<T>(serialize(value));

describe('value codec', () => {
  it('round-trips JSON values unchanged', () => {
    const value = { a: 1, b: 'x', c: [true, null, { d: -2.5 }], e: {} };
    expect(roundTrip(value)).toEqual(value);
  });

  it('round-trips Date, BigInt, Map, Set and undefined, nested', () => {
    const value = {
      when: new Date('2026-11-24T10:00:00.123Z'),
      big: 12345678901234567890n,
      map: new Map<unknown, unknown>([
        ['k', new Date(0)],
        [1, new Set([1n, 'two'])],
      ]),
      set: new Set(['a', 'b']),
      missing: undefined,
      list: [undefined, 1],
    };
    const back = roundTrip(value);
    expect(back.when).toBeInstanceOf(Date);
    expect(back.when.toISOString()).toBe('2026-11-24T10:00:00.123Z');
    expect(back.big).toBe(12345678901234567890n);
    expect(back.map).toBeInstanceOf(Map);
    expect(back.map.get('k')).toEqual(new Date(0));
    expect(back.map.get(1)).toEqual(new Set([1n, 'two']));
    expect(back.set).toEqual(new Set(['a', 'b']));
    expect(Object.prototype.hasOwnProperty.call(back, 'missing')).toBe(true);
    expect(back.missing).toBeUndefined();
    expect(back.list).toEqual([undefined, 1]);
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip([NaN, Infinity])).toEqual([NaN, Infinity]);
  });

  it('keeps a user object that uses the internal tag key as it was', () => {
    const value = { $t: 'Date', v: 'not a date' };
    expect(roundTrip(value)).toEqual(value);
  });

  it('round-trips an Error with its class name, message, stack and own fields', () => {
    class PaymentDeclinedError extends Error {
      constructor(readonly code: string) {
        super(`declined: ${code}`);
        this.name = 'PaymentDeclinedError';
      }
    }
    const original = new PaymentDeclinedError('insufficient_funds');
    const back = deserializeError(serializeError(original));
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe('PaymentDeclinedError');
    expect(back.constructor.name).toBe('PaymentDeclinedError');
    expect(back.message).toBe('declined: insufficient_funds');
    expect(back.stack).toBe(original.stack);
    expect((back as PaymentDeclinedError).code).toBe('insufficient_funds');
  });

  it('brings back its own error classes as themselves', () => {
    const back = deserializeError(serializeError(new DbosNondeterminismError('wf', 2, 'A.a', 'A.b')));
    expect(back).toBeInstanceOf(DbosNondeterminismError);
    expect((back as DbosNondeterminismError).stepId).toBe(2);
  });

  it.each([
    ['a function', { f: () => 1 }, /"f" is a function/],
    ['a symbol', { s: Symbol('x') }, /"s" is a symbol/],
    [
      'a class instance with methods',
      {
        c: new (class Money {
          amount = 1;
          add() {
            return 1;
          }
        })(),
      },
      /instance of Money/,
    ],
    [
      'a circular value',
      (() => {
        const o: Record<string, unknown> = {};
        o.self = o;
        return o;
      })(),
      /circular/,
    ],
  ])('rejects %s with DbosSerializationError', (_label, value, message) => {
    expect(() => serialize(value, 'the input')).toThrow(DbosSerializationError);
    expect(() => serialize(value, 'the input')).toThrow(message);
  });

  it('names the input it could not store in the error', () => {
    expect(() => serialize({ f: () => 1 }, 'the arguments of Checkout.run')).toThrow(/the arguments of Checkout\.run/);
  });

  it('reads a missing value (null or undefined column) as undefined', () => {
    expect(deserialize(null)).toBeUndefined();
    expect(deserialize(undefined)).toBeUndefined();
  });

  it('keeps an invalid Date invalid', () => {
    const back = roundTrip({ when: new Date('not a date') });
    expect(back.when).toBeInstanceOf(Date);
    expect(Number.isNaN(back.when.getTime())).toBe(true);
  });

  it('keeps the cause of an error', () => {
    const back = deserializeError(serializeError(new Error('checkout failed', { cause: new Error('card declined') })));
    expect(back.message).toBe('checkout failed');
    expect((back as Error & { cause: Error }).cause).toBeInstanceOf(Error);
    expect((back as Error & { cause: Error }).cause.message).toBe('card declined');
  });

  it('stores an error whose own fields cannot be stored with its class, message and stack', () => {
    const original = Object.assign(new TypeError('bad input'), { callback: () => undefined });
    const back = deserializeError(serializeError(original));
    expect(back).toBeInstanceOf(TypeError);
    expect(back.message).toBe('bad input');
    expect(back.stack).toBe(original.stack);
    expect('callback' in back).toBe(false);
  });

  it('turns a thrown non-error into an Error that shows the value', () => {
    expect(deserializeError(serializeError('just a string')).message).toBe('Non-error value thrown: just a string');
    expect(deserializeError(serializeError({ code: 42 })).message).toBe('Non-error value thrown: {"code":42}');
  });
});

describe('recorded errors keep their cause chain, bounded', () => {
  it('a cause chain comes back with each name, message and code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const back = deserializeError(serializeError(new TypeError('fetch failed', { cause: refused })));
    expect(errorSummary(back)).toEqual({
      name: 'TypeError',
      message: 'fetch failed',
      cause: { name: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:5432', code: 'ECONNREFUSED' },
    });
  });

  it('a circular or over-long chain is cut after MAX_CAUSES causes, and an unstorable field keeps the chain', () => {
    const looped = new Error('outer');
    looped.cause = looped;
    expect(errorChain(deserializeError(serializeError(looped)))).toHaveLength(2); // the error, and itself once as its cause
    let deep: Error = new Error('cause 20');
    for (let i = 19; i >= 0; i--) deep = new Error(`cause ${i}`, { cause: deep });
    expect(errorChain(deserializeError(serializeError(deep)))).toHaveLength(1 + MAX_CAUSES);
    const withSocket = Object.assign(new Error('top', { cause: new Error('below') }), { socket: () => undefined });
    expect(describeWithCauses(deserializeError(serializeError(withSocket)))).toBe('Error: top; caused by Error: below');
  });
});
