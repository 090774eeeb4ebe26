import { DbosSerializationError } from './serialization.error';

/**
 * A workflow input, result, step output, message, event or stream value over `maxPayloadBytes`.
 * A DbosSerializationError, as before it had a class of its own, so existing handlers still catch it.
 */
export class DbosPayloadTooLargeError extends DbosSerializationError {
  constructor(
    what: string,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(what, `it is ${bytes} bytes serialized, over the limit of ${maxBytes} (maxPayloadBytes); store large data elsewhere and pass a reference`);
  }
}
