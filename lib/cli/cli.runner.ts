import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { WorkflowClient } from '../client/workflow.client';
import { DbosDatabaseUnavailableError } from '../errors/database-unavailable.error';
import { DbosError } from '../errors/dbos.error';
import { DbosNotFoundError } from '../errors/not-found.error';
import {
  CliError,
  ExitCode,
  UsageError,
  type CommandContext,
  type CommandSpec,
  type ConnectionSettings,
  type OptionSpec,
  type OptionValue,
} from './command.interface';
import { gcCommands } from './commands/gc.command';
import { migrateCommands } from './commands/migrate.command';
import { queueCommands } from './commands/queues.command';
import { replayCommands } from './commands/replay.command';
import { scheduleCommands } from './commands/schedules.command';
import { versionCommands } from './commands/versions.command';
import { workflowCommands } from './commands/workflows.command';
import { workflowEditCommands } from './commands/workflow-edit.command';
import { connectClient, hideSecrets, resolveConnection } from './cli.connection';
import { GLOBAL_OPTIONS, PROGRAM, commandHelp, generalHelp, groupHelp, helpHint } from './cli.help';

export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
}

type Options = Record<string, OptionValue>;

type Invocation = { kind: 'help'; text: string; exitCode: number } | { kind: 'command'; spec: CommandSpec; options: Options; args: string[] };

export const COMMANDS: CommandSpec[] = [
  ...workflowCommands,
  ...workflowEditCommands,
  ...queueCommands,
  ...scheduleCommands,
  ...migrateCommands,
  ...gcCommands,
  ...replayCommands,
  ...versionCommands,
];

/** Runs one command line (without the program name) and returns its exit code. */
export async function run(argv: string[], io: CliIO = processIO()): Promise<number> {
  try {
    const invocation = parseInvocation(argv);
    if (invocation.kind === 'command') return await execute(invocation, io);
    (invocation.exitCode === ExitCode.Success ? io.stdout : io.stderr)(`${invocation.text}\n`);
    return invocation.exitCode;
  } catch (err) {
    return reportFailure(err, io);
  }
}

function processIO(): CliIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
}

function parseInvocation(argv: string[]): Invocation {
  if (argv.length === 0) return { kind: 'help', text: generalHelp(COMMANDS), exitCode: ExitCode.Usage };
  const { positionals, values } = parseLoosely(argv);
  if (positionals[0] === 'help') return helpFor(positionals.slice(1));
  const spec = findCommand(positionals);
  if (values.help === true) return helpFor(spec ? spec.path : positionals);
  if (!spec) throw unknownCommand(positionals);
  return parseCommand(spec, argv);
}

/** A first pass that only finds the command words, whatever options surround them. */
function parseLoosely(argv: string[]): { positionals: string[]; values: Options } {
  const all = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options)) as Record<string, OptionSpec>;
  return parseArgs({ args: argv, options: parseArgsOptions(all), allowPositionals: true, strict: false });
}

function parseCommand(spec: CommandSpec, argv: string[]): Invocation {
  let parsed: { values: Options; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options: parseArgsOptions({ ...GLOBAL_OPTIONS, ...spec.options }), allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseArgsMessage(err as Error & { code?: string }), helpHint(spec.path));
  }
  const args = parsed.positionals.slice(spec.path.length);
  checkArity(spec, args);
  return { kind: 'command', spec, options: parsed.values, args };
}

function parseArgsOptions(options: Record<string, OptionSpec>): NonNullable<ParseArgsConfig['options']> {
  return Object.fromEntries(
    // parseArgs rejects keys present with an undefined value.
    Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.multiple && { multiple: true }), ...(o.short && { short: o.short }) }]),
  );
}

function checkArity(spec: CommandSpec, args: string[]): void {
  if (args.length < spec.arity.min) throw new UsageError(`${spec.path.join(' ')} needs ${spec.args}.`, helpHint(spec.path));
  if (args.length > spec.arity.max) throw new UsageError(`Unexpected argument "${args[spec.arity.max]}".`, helpHint(spec.path));
}

function findCommand(words: string[]): CommandSpec | undefined {
  return COMMANDS.find((c) => c.path.every((word, i) => words[i] === word));
}

function commandsOfGroup(group: string): CommandSpec[] {
  return COMMANDS.filter((c) => c.path.length > 1 && c.path[0] === group);
}

function helpFor(words: string[]): Invocation {
  if (words.length === 0) return { kind: 'help', text: generalHelp(COMMANDS), exitCode: ExitCode.Success };
  const spec = COMMANDS.find((c) => c.path.join(' ') === words.join(' '));
  if (spec) return { kind: 'help', text: commandHelp(spec), exitCode: ExitCode.Success };
  if (words.length === 1 && commandsOfGroup(words[0]).length > 0) {
    return { kind: 'help', text: groupHelp(words[0], commandsOfGroup(words[0])), exitCode: ExitCode.Success };
  }
  throw unknownCommand(words);
}

function unknownCommand(words: string[]): UsageError {
  if (words.length === 0) return new UsageError('No command given.', helpHint([]));
  const group = commandsOfGroup(words[0]);
  if (group.length > 0 && words.length === 1) {
    return new UsageError(`"${words[0]}" needs a command: ${group.map((c) => c.path[1]).join(', ')}.`, helpHint([words[0]]));
  }
  const known = group.length > 0 ? words.slice(0, 2) : words.slice(0, 1);
  return new UsageError(`Unknown command "${known.join(' ')}".`, helpHint(group.length > 0 ? [words[0]] : []));
}

async function execute({ spec, options, args }: Extract<Invocation, { kind: 'command' }>, io: CliIO): Promise<number> {
  let connection: ConnectionSettings | undefined;
  let client: WorkflowClient | undefined;
  const ctx: CommandContext = {
    options,
    args,
    now: new Date(),
    out: {
      print: (text) => void io.stdout(`${text}\n`),
      warn: (text) => void io.stderr(`${text}\n`),
    },
    connection: () => (connection ??= resolveConnection(options, io.env)),
    client: async () => (client ??= await connectClient(ctx.connection())),
  };
  try {
    return (await spec.run(ctx)) ?? ExitCode.Success;
  } catch (err) {
    throw err instanceof UsageError && !err.hint ? new UsageError(err.message, helpHint(spec.path)) : err;
  } finally {
    // The answer is out by now; a failing close must not replace it.
    await client?.close().catch(() => undefined);
  }
}

function reportFailure(err: unknown, io: CliIO): number {
  const lines = [`error: ${messageOf(err)}`, hintOf(err)].filter((line): line is string => Boolean(line));
  io.stderr(`${hideSecrets(lines.join('\n'))}\n`);
  return exitCodeOf(err);
}

function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof DbosNotFoundError) return ExitCode.NotFound;
  if (err instanceof DbosDatabaseUnavailableError) return ExitCode.Unavailable;
  return ExitCode.Failed;
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // Errors of this package and of the CLI say what happened; anything else is named by its class.
  return err instanceof CliError || err instanceof DbosError ? err.message : `${err.name}: ${err.message}`;
}

function hintOf(err: unknown): string | undefined {
  if (err instanceof CliError) return err.hint;
  if (err instanceof DbosDatabaseUnavailableError)
    return `Check --database-url (or DATABASE_URL) and that Postgres is running; "${PROGRAM} --help" lists the options.`;
  return undefined;
}

/** For an unknown option parseArgs goes on about values starting with a dash; its first sentence says what is wrong. */
function parseArgsMessage(err: Error & { code?: string }): string {
  if (err.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return err.message;
  const end = err.message.search(/\.\s/);
  return end === -1 ? err.message : err.message.slice(0, end + 1);
}
