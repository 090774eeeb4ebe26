#!/usr/bin/env node
import { run } from './cli.runner';

void run(process.argv.slice(2)).then((exitCode) => {
  process.exitCode = exitCode;
  // A connection attempt that never answered would keep the process alive after the answer is out.
  setTimeout(() => process.exit(), 2_000).unref();
});
