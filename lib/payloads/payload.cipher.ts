import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { DbosConfigurationError } from '../errors/configuration.error';
import type { PayloadEncryptionOptions } from '../interfaces/payload-options.interface';

/**
 * `dbos:enc:v1:<key id>:<base64 of iv, auth tag, ciphertext>`: what an encrypted payload looks like
 * at rest. A stored value of the built-in codec is JSON and never starts with a letter `d`, so the
 * prefix alone tells an encrypted value from a plain one (written before encryption was turned on,
 * or by the `enqueue_workflow` SQL function).
 */
export const ENCRYPTED_PREFIX = 'dbos:enc:v1:';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** Whether a stored payload is encrypted (whatever its key). */
export function isEncrypted(stored: string): boolean {
  return stored.startsWith(ENCRYPTED_PREFIX);
}

/** The id of the key an encrypted payload was written with. */
export function keyIdOf(stored: string): string {
  return stored.slice(ENCRYPTED_PREFIX.length, stored.indexOf(':', ENCRYPTED_PREFIX.length));
}

/** The id stored with each value: the first 8 hex digits of the key's SHA-256, which says which key without revealing it. */
export function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/** A key as 32 bytes: a Buffer as it is, a string as base64. */
export function parseKey(key: Buffer | string | undefined, what: string): Buffer {
  const bytes = Buffer.isBuffer(key) ? key : typeof key === 'string' ? Buffer.from(key.trim(), 'base64') : undefined;
  if (!bytes || bytes.length !== KEY_BYTES) {
    const given = bytes ? `${bytes.length} bytes` : typeof key;
    throw new DbosConfigurationError(
      `${what} must be ${KEY_BYTES} bytes (AES-256): a Buffer or a base64 string of ${KEY_BYTES} bytes, not ${given}. ` +
        `Make one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64'))"`,
    );
  }
  return bytes;
}

/** AES-256-GCM over one current key and the previous ones: writes with the current key, reads with whichever the value names. */
export class PayloadCipher {
  private readonly current: { id: string; key: Buffer };
  private readonly byId = new Map<string, Buffer>();

  constructor(options: PayloadEncryptionOptions) {
    const key = parseKey(options.key, 'encryption.key');
    this.current = { id: keyId(key), key };
    this.byId.set(this.current.id, key);
    (options.previousKeys ?? []).forEach((previous, i) => {
      const bytes = parseKey(previous, `encryption.previousKeys[${i}]`);
      const id = keyId(bytes);
      if (!this.byId.has(id)) this.byId.set(id, bytes);
    });
  }

  /** The ids of the configured keys, current first. */
  get keyIds(): string[] {
    return [...this.byId.keys()];
  }

  encrypt(text: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.current.key, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return `${ENCRYPTED_PREFIX}${this.current.id}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** The text of an encrypted payload; a DbosConfigurationError naming the key when it is not configured. */
  decrypt(stored: string): string {
    const id = keyIdOf(stored);
    const key = this.byId.get(id);
    if (!key) {
      throw new DbosConfigurationError(
        `A stored payload is encrypted with key ${id}, which is not configured (configured: ${this.keyIds.join(', ')}). ` +
          `Add that key to encryption.previousKeys (the CLI: --encryption-key or DBOS_ENCRYPTION_KEY, comma-separated).`,
      );
    }
    const data = Buffer.from(stored.slice(ENCRYPTED_PREFIX.length + id.length + 1), 'base64');
    try {
      const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new DbosConfigurationError(
        `A stored payload encrypted with key ${id} fails authentication: it was altered or truncated in the database, or another key has the same id.`,
      );
    }
  }
}
