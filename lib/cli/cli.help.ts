import type { CommandSpec, OptionSpec } from './command.interface';
import { DEFAULT_SCHEMA } from './cli.connection';

export const PROGRAM = 'nestjs-dbos';

/** Options every command takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  'database-url': { type: 'string', value: 'URL', description: 'Postgres URL of the system database (default: $DATABASE_URL)' },
  schema: { type: 'string', value: 'NAME', description: `Schema of the system tables (default: ${DEFAULT_SCHEMA})` },
  pooler: {
    type: 'string',
    value: 'MODE',
    description: 'The URL goes through a connection pooler (PgBouncer) in this pool mode: transaction or session (default: $DATABASE_POOLER, else none)',
  },
  'listen-url': { type: 'string', value: 'URL', description: 'A direct URL for LISTEN behind a transaction pooler (default: $DATABASE_LISTEN_URL)' },
  'encryption-key': {
    type: 'string',
    value: 'KEYS',
    description: 'Base64 key(s) of the encrypted payloads, comma-separated, current first (default: $DBOS_ENCRYPTION_KEY; none: shown as [encrypted])',
  },
  'read-url': {
    type: 'string',
    value: 'URL',
    description: 'A hot standby of the system database for list, steps and queue stats; the rest stays on the primary (default: $DATABASE_READ_URL)',
  },
  help: { type: 'boolean', short: 'h', description: 'Show help' },
};

const EXIT_CODES: [string, string][] = [
  ['0', 'success'],
  ['1', 'the operation failed'],
  ['2', 'usage error: unknown command, bad option or argument'],
  ['3', 'a workflow was not found'],
  ['4', 'the database is unavailable, or the system schema is missing (run migrate)'],
];

const WIDTH = 100;

export function generalHelp(commands: CommandSpec[]): string {
  return sections([
    `Usage: ${PROGRAM} <command> [options]`,
    'Inspect and manage the durable workflows recorded in a nestjs-dbos system database.',
    ['Commands:', ...twoColumns(commands.map((c) => [usageOf(c), c.summary]))].join('\n'),
    connectionSection(),
    exitCodeSection(),
    `Run "${PROGRAM} help <command>" or "${PROGRAM} <command> --help" for its options.`,
  ]);
}

export function groupHelp(group: string, commands: CommandSpec[]): string {
  return sections([
    `Usage: ${PROGRAM} ${group} <command> [options]`,
    ['Commands:', ...twoColumns(commands.map((c) => [usageOf(c), c.summary]))].join('\n'),
    connectionSection(),
    `Run "${PROGRAM} help ${group} <command>" for its options.`,
  ]);
}

export function commandHelp(spec: CommandSpec): string {
  const options = Object.entries(spec.options);
  return sections([
    `Usage: ${PROGRAM} ${usageOf(spec)}${options.length > 0 ? ' [options]' : ''}`,
    wrap(spec.description ? `${spec.summary}. ${spec.description}` : `${spec.summary}.`, WIDTH, ''),
    options.length > 0 ? ['Options:', ...optionLines(spec.options)].join('\n') : '',
    connectionSection(),
    spec.examples ? ['Examples:', ...spec.examples.map((e) => `  ${e}`)].join('\n') : '',
    exitCodeSection(),
  ]);
}

/** How to ask for help about a command, for the end of an error message. */
export function helpHint(path: string[]): string {
  return `Run "${[PROGRAM, 'help', ...path].join(' ')}" for usage.`;
}

function usageOf(spec: CommandSpec): string {
  return [...spec.path, spec.args].filter(Boolean).join(' ');
}

function connectionSection(): string {
  return ['Connection:', ...optionLines(GLOBAL_OPTIONS)].join('\n');
}

function exitCodeSection(): string {
  return ['Exit codes:', ...EXIT_CODES.map(([code, meaning]) => `  ${code}  ${meaning}`)].join('\n');
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  return twoColumns(Object.entries(options).map(([name, option]) => [flagOf(name, option), option.description]));
}

function flagOf(name: string, option: OptionSpec): string {
  const long = `--${name}${option.value ? ` ${option.value}` : ''}`;
  return option.short ? `-${option.short}, ${long}` : long;
}

/** `  left   right` lines, the right column aligned and wrapped. */
function twoColumns(rows: [string, string][]): string[] {
  const width = Math.min(30, Math.max(...rows.map(([left]) => left.length)));
  const indent = ' '.repeat(width + 4);
  return rows.map(([left, right]) => {
    const head = `  ${left.padEnd(width)}  `;
    return head.length > indent.length
      ? `  ${left}\n${wrap(right, WIDTH - indent.length, indent)}`
      : `${head}${wrap(right, WIDTH - indent.length, indent).trimStart()}`;
  });
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent}${l}`).join('\n');
}

function sections(parts: string[]): string {
  return parts.filter((part) => part.length > 0).join('\n\n');
}
