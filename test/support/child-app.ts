import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** A Nest app running in a real child process, so that a crash is a real SIGKILL. */
export class ChildApp {
  private output = '';
  private readonly exited: Promise<number | null>;

  private constructor(readonly process: ChildProcess) {
    process.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    process.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => process.on('exit', (code) => resolve(code)));
  }

  static start(fixture: string, env: Record<string, string>): ChildApp {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, '..', 'fixtures', fixture)], {
      cwd: path.join(__dirname, '..', '..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ChildApp(child);
  }

  /** Resolves once the child has printed a line matching `pattern`. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (this.process.exitCode !== null || this.process.signalCode !== null) {
        throw new Error(`child exited before printing ${pattern}; output:\n${this.output}`);
      }
      if (Date.now() > deadline) throw new Error(`child did not print ${pattern} in time; output:\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    return this.exited;
  }

  waitForExit(): Promise<number | null> {
    return this.exited;
  }

  get log(): string {
    return this.output;
  }
}
