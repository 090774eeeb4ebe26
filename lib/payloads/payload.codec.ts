import { DbosConfigurationError } from '../errors/configuration.error';
import { DbosSerializationError } from '../errors/serialization.error';
import type { PayloadOptions, PayloadSerializer } from '../interfaces/payload-options.interface';
import { deserialize, serialize, serializeError } from '../serialization/value.codec';
import { isEncrypted, keyIdOf, PayloadCipher } from './payload.cipher';

/**
 * A value written by the configured `serializer`: `dbos:ser:<its text>`. The prefix tells it from a
 * value of the built-in codec (JSON, which never starts with a letter `d`), so rows written before
 * a serializer was configured, or by the `enqueue_workflow` SQL function, stay readable.
 */
export const SERIALIZED_PREFIX = 'dbos:ser:';

/** The common start of every stored form other than the built-in codec's JSON. */
const STORED_FORM_PREFIX = 'dbos:';

/** What an unreadable payload is shown as by a reader that asked for placeholders (the CLI without the key). */
export const ENCRYPTED_PLACEHOLDER = '[encrypted]';

/** A value (serialized by the configured serializer) or an error (always the built-in form: class name, message, stack, fields). */
export type PayloadKind = 'value' | 'error';

export interface PayloadCodecOptions extends PayloadOptions {
  /**
   * 'placeholder': a payload this codec cannot read (encrypted with a key it does not have) reads as
   * `[encrypted]` instead of failing. For display only (the CLI); a runtime must never use it.
   */
  unreadable?: 'throw' | 'placeholder';
}

/**
 * The boundary between the text the built-in value codec makes of a payload (what the executor,
 * the step runner, the client... produce and consume) and the text stored in the system tables.
 * The repositories of `system-database/` call it for every payload column they write or read
 * (`SystemDatabase.payloads`); nothing above them sees a stored form.
 */
export class PayloadCodec {
  /** Stored as produced: no serializer, no encryption. */
  static readonly plain = new PayloadCodec({});

  private readonly cipher?: PayloadCipher;
  private readonly serializer?: PayloadSerializer;
  private readonly placeholder: boolean;
  private display?: PayloadCodec;

  constructor(private readonly options: PayloadCodecOptions) {
    this.cipher = options.encryption ? new PayloadCipher(options.encryption) : undefined;
    if (options.serializer && (typeof options.serializer.serialize !== 'function' || typeof options.serializer.deserialize !== 'function')) {
      throw new DbosConfigurationError('serializer must have serialize(value) and deserialize(text) methods (either may return a promise).');
    }
    this.serializer = options.serializer;
    this.placeholder = options.unreadable === 'placeholder';
  }

  /** True when payloads are stored as the value codec produced them (a reader that may skip this codec). */
  get isPlain(): boolean {
    return !this.cipher && !this.serializer && !this.placeholder;
  }

  /**
   * True when `decode(encode(text))` is `text` for every value: no custom serializer (encryption
   * alone gives back what it was given; a serializer may not, e.g. JSON turns a Date into a string).
   */
  get readsBackAsWritten(): boolean {
    return !this.serializer;
  }

  /** This codec, but reading what it cannot decrypt as `[encrypted]`: for pages and listings that show payloads, never for a run. */
  forDisplay(): PayloadCodec {
    if (this.placeholder) return this;
    this.display ??= new PayloadCodec({ ...this.options, unreadable: 'placeholder' });
    return this.display;
  }

  /** The stored form of a payload given as the value codec's text. */
  async encode(text: string | null, kind: PayloadKind = 'value'): Promise<string | null> {
    if (text === null || this.isPlain) return text;
    let stored = text;
    if (this.serializer && kind === 'value') stored = SERIALIZED_PREFIX + (await this.serializeWithUser(text));
    return this.cipher ? this.cipher.encrypt(stored) : stored;
  }

  /** The value codec's text of a stored payload: encrypted or not, written by the serializer or not. */
  async decode(stored: string | null, kind: PayloadKind = 'value'): Promise<string | null> {
    if (stored === null) return null;
    let text = stored;
    if (isEncrypted(text)) {
      if (!this.cipher) {
        if (this.placeholder) return kind === 'error' ? serializeError(new Error(ENCRYPTED_PLACEHOLDER)) : serialize(ENCRYPTED_PLACEHOLDER);
        throw new DbosConfigurationError(
          `A stored payload is encrypted (key ${keyIdOf(text)}) and no encryption key is configured: set the \`encryption\` option ` +
            `of DbosModule.forRoot / WorkflowClient.connect (the CLI: --encryption-key or DBOS_ENCRYPTION_KEY) to that key.`,
        );
      }
      text = this.decryptOrPlaceholder(text);
      if (text === ENCRYPTED_PLACEHOLDER) return kind === 'error' ? serializeError(new Error(ENCRYPTED_PLACEHOLDER)) : serialize(ENCRYPTED_PLACEHOLDER);
    }
    return text.startsWith(SERIALIZED_PREFIX) ? this.deserializeWithUser(text.slice(SERIALIZED_PREFIX.length)) : text;
  }

  /** Whether `stored` reads as it is (no serializer, no encryption, and not written with either): the repositories' fast path. */
  readsAsIs(stored: string | null): boolean {
    return stored === null || (this.isPlain && !stored.startsWith(STORED_FORM_PREFIX));
  }

  /** `decode` of many payloads at once. */
  decodeAll(stored: (string | null)[], kind: PayloadKind = 'value'): Promise<(string | null)[]> {
    return stored.every((s) => this.readsAsIs(s)) ? Promise.resolve(stored) : Promise.all(stored.map((s) => this.decode(s, kind)));
  }

  /** `encode` of many payloads at once. */
  encodeAll(texts: (string | null)[], kind: PayloadKind = 'value'): Promise<(string | null)[]> {
    return this.isPlain ? Promise.resolve(texts) : Promise.all(texts.map((t) => this.encode(t, kind)));
  }

  private decryptOrPlaceholder(stored: string): string {
    try {
      return this.cipher!.decrypt(stored);
    } catch (err) {
      if (this.placeholder) return ENCRYPTED_PLACEHOLDER;
      throw err;
    }
  }

  private async serializeWithUser(text: string): Promise<string> {
    let stored: unknown;
    try {
      stored = await this.serializer!.serialize(deserialize(text));
    } catch (err) {
      throw new DbosSerializationError('a value with the configured serializer', `its serialize() threw: ${(err as Error)?.message ?? String(err)}`);
    }
    if (typeof stored !== 'string') {
      throw new DbosSerializationError('a value with the configured serializer', `its serialize() returned ${typeof stored}, not a string`);
    }
    return stored;
  }

  private async deserializeWithUser(text: string): Promise<string> {
    if (!this.serializer) {
      if (this.placeholder) return serialize('[serialized by a custom serializer]');
      throw new DbosConfigurationError(
        'A stored payload was written by a custom serializer and none is configured: give the same `serializer` option to every app and client of this database.',
      );
    }
    let value: unknown;
    try {
      value = await this.serializer.deserialize(text);
    } catch (err) {
      throw new DbosConfigurationError(`The configured serializer's deserialize() failed on a stored payload: ${(err as Error)?.message ?? String(err)}`);
    }
    return serialize(value, 'the value the configured serializer read');
  }
}

/** The codec of these options; a configuration error (wrong key length, a serializer without its methods) at once. */
export function createPayloadCodec(options: PayloadCodecOptions = {}): PayloadCodec {
  return options.serializer || options.encryption || options.unreadable === 'placeholder' ? new PayloadCodec(options) : PayloadCodec.plain;
}
