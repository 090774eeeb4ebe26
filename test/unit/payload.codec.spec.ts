import { randomBytes } from 'node:crypto';
import { DbosConfigurationError, DbosSerializationError } from '../../lib';
import { createPayloadCodec, PayloadCodec } from '../../lib/payloads/payload.codec';
import { deserialize, deserializeError, serialize, serializeError } from '../../lib/serialization/value.codec';

describe('PayloadCodec', () => {
  const key = randomBytes(32);

  it('encrypts each value with a fresh IV, so equal values are stored differently, and reads them back', async () => {
    const codec = createPayloadCodec({ encryption: { key: key.toString('base64') } });
    const text = serialize({ amount: 10n, at: new Date(0) });
    const [a, b] = [await codec.encode(text), await codec.encode(text)];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^dbos:enc:v1:[0-9a-f]{8}:[A-Za-z0-9+/=]+$/);
    expect(deserialize(await codec.decode(a))).toEqual({ amount: 10n, at: new Date(0) });
    expect(await codec.decode(null)).toBeNull();
  });

  it('refuses a value altered in the database instead of returning garbage', async () => {
    const codec = createPayloadCodec({ encryption: { key } });
    const stored = (await codec.encode(serialize('pay 10')))!;
    const body = Buffer.from(stored.split(':')[4], 'base64');
    body[body.length - 1] ^= 1;
    const altered = `${stored.split(':').slice(0, 4).join(':')}:${body.toString('base64')}`;
    await expect(codec.decode(altered)).rejects.toThrow(DbosConfigurationError);
    await expect(codec.decode(altered)).rejects.toThrow(/fails authentication: it was altered or truncated/);
  });

  it('reads plain values (written before encryption, or by SQL) as they are', async () => {
    const codec = createPayloadCodec({ encryption: { key } });
    expect(await codec.decode('["from sql"]')).toBe('["from sql"]');
  });

  it('errors are encrypted too, and a display codec shows what it cannot read as [encrypted]', async () => {
    const writer = createPayloadCodec({ encryption: { key } });
    const stored = await writer.encode(serializeError(new RangeError('card 4242 declined')), 'error');
    expect(stored).not.toContain('4242');
    expect(deserializeError((await writer.decode(stored, 'error'))!)).toMatchObject({ name: 'RangeError', message: 'card 4242 declined' });
    const reader = createPayloadCodec({ encryption: { key: randomBytes(32) } });
    await expect(reader.decode(stored, 'error')).rejects.toThrow(/which is not configured/);
    expect(deserializeError((await reader.forDisplay().decode(stored, 'error'))!).message).toBe('[encrypted]');
    expect(deserialize(await PayloadCodec.plain.forDisplay().decode(await writer.encode('"x"')))).toBe('[encrypted]');
  });

  it('checks the keys: every one 32 bytes, each named in the message', () => {
    expect(() => createPayloadCodec({ encryption: { key: randomBytes(16) } })).toThrow(/encryption.key must be 32 bytes .* not 16 bytes/);
    expect(() => createPayloadCodec({ encryption: { key, previousKeys: ['abc'] } })).toThrow(/encryption.previousKeys\[0\] must be 32 bytes/);
  });

  it('a serializer must return a string, and one that throws says so', async () => {
    const bad = createPayloadCodec({ serializer: { serialize: () => 42 as unknown as string, deserialize: (t) => t } });
    await expect(bad.encode(serialize('x'))).rejects.toThrow(DbosSerializationError);
    const throwing = createPayloadCodec({
      serializer: {
        serialize: () => {
          throw new Error('key service down');
        },
        deserialize: (t) => t,
      },
    });
    await expect(throwing.encode(serialize('x'))).rejects.toThrow(/its serialize\(\) threw: key service down/);
  });
});
