/**
 * How stored payloads (workflow inputs, outputs, errors, step results, messages, events, stream
 * values) are written at rest. See docs/payloads.md.
 */

/** Turns a value into the text stored for it and back; either side may be async (a key service, a remote codec). */
export interface PayloadSerializer {
  serialize(value: unknown): string | Promise<string>;
  deserialize(text: string): unknown;
}

/** AES-256-GCM encryption of every stored payload. */
export interface PayloadEncryptionOptions {
  /** 32 bytes: a Buffer, or a base64 string of 32 bytes. New payloads are encrypted with it. */
  key: Buffer | string;
  /** Earlier keys, tried for reading only (by the key id stored with each value): rotate by moving the old key here. */
  previousKeys?: (Buffer | string)[];
}

/** The payload options of `DbosModule.forRoot` and `WorkflowClient.connect`: give both sides the same ones. */
export interface PayloadOptions {
  /** Replaces the built-in JSON encoding of values (not of errors). Default: the built-in codec. */
  serializer?: PayloadSerializer;
  /** Encrypts every stored payload. Default: stored as text. */
  encryption?: PayloadEncryptionOptions;
}
