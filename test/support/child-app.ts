import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import * as path from 'node:path';

/** The repository root: the working directory of every child. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ChildOptions {
  /** Added to this process's environment; a variable set to `undefined` is removed. */
  env?: Record<string, string | undefined>;
  /** Arguments after the script. */
  args?: string[];
  /** Options of node before the script (e.g. `--trace-uncaught`). */
  nodeArgs?: string[];
  /** stdin as a pipe (`process.stdin` of the child); ignored otherwise. */
  stdin?: boolean;
  /** stdout and stderr appended to this open file instead of captured in `log`. */
  outputFd?: number;
  /** An IPC channel (`process.send` in the child, `on('message')` here). */
  ipc?: boolean;
  /** A process group of its own, so that `killGroup()` also reaches what the child started. */
  detached?: boolean;
}

/**
 * A TypeScript script (a Nest app, the CLI, a Postgres server...) in a real child process, so that
 * a crash is a real SIGKILL. It runs under ts-node with the tsconfig `paths` (`nestjs-dbos`).
 */
export class ChildApp {
  private out = '';
  private err = '';
  private combined = '';
  /** How it ended (once its output is read to the end). */
  readonly exit: Promise<ChildExit>;

  private constructor(readonly process: ChildProcess) {
    process.stdout?.on('data', (chunk: Buffer) => {
      this.out += chunk.toString();
      this.combined += chunk.toString();
    });
    process.stderr?.on('data', (chunk: Buffer) => {
      this.err += chunk.toString();
      this.combined += chunk.toString();
    });
    // 'close', not 'exit': by then everything it printed has been read.
    this.exit = new Promise((resolve) => process.once('close', (code, signal) => resolve({ code, signal })));
  }

  /** A fixture of test/fixtures, with `env` added to the environment. */
  static start(fixture: string, env: Record<string, string | undefined> = {}): ChildApp {
    return ChildApp.run(path.join('test', 'fixtures', fixture), { env });
  }

  /** Any script, by its path from the repository root (or absolute). */
  static run(script: string, options: ChildOptions = {}): ChildApp {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [key, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = value;
    }
    const output = options.outputFd ?? 'pipe';
    const stdio: StdioOptions = [options.stdin ? 'pipe' : 'ignore', output, output];
    if (options.ipc) stdio.push('ipc');
    const child = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        path.resolve(REPO_ROOT, script),
        ...(options.args ?? []),
      ],
      { cwd: REPO_ROOT, env, stdio, detached: options.detached },
    );
    return new ChildApp(child);
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Resolves with the match once the child has printed (stdout or stderr) something matching `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.combined.match(pattern);
      if (match) return match;
      if (!this.running) throw new Error(`child exited before printing ${pattern}; output:\n${this.combined}`);
      if (Date.now() > deadline) throw new Error(`child did not print ${pattern} in time; output:\n${this.combined}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends `signal` (unless it has exited) and resolves with its exit code (null when a signal ended it). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.running) this.process.kill(signal);
    return (await this.exit).code;
  }

  /** SIGKILLs its whole process group (started `detached`): the last resort after a failed test. */
  killGroup(): void {
    if (this.running && this.process.pid) process.kill(-this.process.pid, 'SIGKILL');
  }

  /** Its exit code (null when a signal ended it). */
  async waitForExit(): Promise<number | null> {
    return (await this.exit).code;
  }

  /** Everything it printed, stdout and stderr interleaved. */
  get log(): string {
    return this.combined;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }
}
