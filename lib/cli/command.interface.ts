import type { WorkflowClient } from '../client/workflow.client';

/** Exit codes scripts can rely on; the help text lists them. */
export const ExitCode = {
  Success: 0,
  Failed: 1,
  Usage: 2,
  NotFound: 3,
  Unavailable: 4,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure the CLI itself detects, with the exit code it means. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The command line does not say something the CLI can do. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.Usage, hint);
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  multiple?: boolean;
  short?: string;
  /** Placeholder of the value in the help, e.g. `DATE`. */
  value?: string;
  description: string;
}

export type OptionValue = string | boolean | (string | boolean)[] | undefined;

export interface Output {
  /** A line (or block) of the result, on stdout. */
  print(text: string): void;
  /** A diagnostic, on stderr. */
  warn(text: string): void;
}

export interface ConnectionSettings {
  url: string;
  schema: string;
  /** `--pooler`: see `database.pooler` of the module (docs/poolers.md). */
  pooler?: 'transaction' | 'session';
  listenUrl?: string;
  /** `--encryption-key`: the keys payloads are read with (the first also writes); none: encrypted payloads show as `[encrypted]`. */
  encryptionKeys?: string[];
  /** `--read-url`: a hot standby for list, steps and queue stats (`database.readUrl`, docs/replicas.md). */
  readUrl?: string;
}

export interface CommandContext {
  readonly options: Readonly<Record<string, OptionValue>>;
  readonly args: string[];
  readonly out: Output;
  readonly now: Date;
  /** Where to connect; a usage error when no database was given. */
  connection(): ConnectionSettings;
  /** A client on the system database, connected on first use and closed after the command. */
  client(): Promise<WorkflowClient>;
}

export interface CommandSpec {
  /** The words that select the command, e.g. `['workflows', 'list']`. */
  path: string[];
  /** Positional arguments as the usage line shows them, e.g. `ID...`. */
  args?: string;
  arity: { min: number; max: number };
  summary: string;
  description?: string;
  options: Record<string, OptionSpec>;
  examples?: string[];
  run(ctx: CommandContext): Promise<ExitCodeValue | void>;
}
