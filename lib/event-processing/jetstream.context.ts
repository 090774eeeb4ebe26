/** The part of a `nats` JetStreamMessage the context exposes (the library's types stay out of the public API). */
export interface JetStreamMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
  readonly redelivered: boolean;
  readonly info: { readonly stream: string; readonly redeliveryCount: number };
  /** Its NATS headers, when it has any. */
  readonly headers?: { get(name: string): string };
  ackAck(): Promise<boolean>;
  nak(millis?: number): void;
  term(reason?: string): void;
  working(): void;
}

/** What the JetStream transport does with a message when its handler settles it. */
export interface JetStreamSettler {
  deadLetter(message: JetStreamMessage, reason: string): Promise<void>;
  retryDelayMs: number;
}

/**
 * The context of a message of JetStreamServer (`@Ctx() context: JetStreamContext`). A handler may
 * settle the message itself; otherwise the server acks it once the handler resolved and asks for
 * a redelivery when it threw.
 */
export class JetStreamContext {
  private settledAs: 'ack' | 'dead-letter' | 'retry' | undefined;

  constructor(
    private readonly message: JetStreamMessage,
    private readonly settler: JetStreamSettler,
  ) {}

  getSubject(): string {
    return this.message.subject;
  }

  getMessage(): JetStreamMessage {
    return this.message;
  }

  /** The stream and stream sequence: the same for every delivery of the message. */
  getIdentity(): string {
    return `${this.message.info.stream}-${this.message.seq}`;
  }

  get isSettled(): boolean {
    return this.settledAs !== undefined;
  }

  async ack(): Promise<void> {
    if (this.settle('ack')) await this.message.ackAck();
  }

  /** Publishes the message to the dead-letter subject (when configured) and stops its redeliveries. */
  async deadLetter(reason: string): Promise<void> {
    if (this.settle('dead-letter')) await this.settler.deadLetter(this.message, reason);
  }

  retryLater(): void {
    if (this.settle('retry')) this.message.nak(this.settler.retryDelayMs);
  }

  private settle(as: 'ack' | 'dead-letter' | 'retry'): boolean {
    if (this.settledAs) return false;
    this.settledAs = as;
    return true;
  }
}
