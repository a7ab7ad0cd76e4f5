#!/usr/bin/env node
// The `ringleader` command: demo, bench and probe. Exit codes: 0 done, 1 the command
// failed, 2 bad usage (a one-line reason on stderr), 130 interrupted.

import { UsageError } from './args.js';
import { benchCommand } from './bench.js';
import { demoCommand } from './demo.js';
import { probeCommand } from './probe.js';

const USAGE = `usage: ringleader <command> [options]

commands:
  demo           agents against a local mock LLM provider under naive, p-limit and ringleader
                 strategies: live progress, a table, ratios and an HTML report (what npm start runs)
  bench [suite]  run the benchmark suites (a source checkout)
  probe          what this host offers the I/O engine: kernel, io_uring, cores, backend
  help           print this text

ringleader <command> --help prints a command's options.`;

const COMMANDS: Record<string, (args: readonly string[]) => number | Promise<number>> = {
  demo: demoCommand,
  bench: benchCommand,
  probe: probeCommand,
};

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (run === undefined) throw new UsageError(`unknown command ${command}`);
  return run(rest);
}

const argv = process.argv.slice(2);
const help = argv[0] !== undefined && Object.hasOwn(COMMANDS, argv[0]) ? `ringleader ${argv[0]} --help` : 'ringleader --help';

main(argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`ringleader: ${err.message} (see ${help})`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
