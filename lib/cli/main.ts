#!/usr/bin/env node
// The `ringleader` command. Exit codes: 0 done, 1 the command failed, 2 bad usage.

import { runDemo } from './demo.js';

const USAGE = `usage: ringleader <command> [options]

commands:
  demo     run simulated agents against a provider with a concurrency cap, with and without a Scheduler
           --agents N        agents to simulate (default 200)
           --fanout K        tool calls per agent (default 5)
           --concurrency C   calls the provider tolerates at once (default 16)
  help     print this text`;

class UsageError extends Error {}

function parseFlags(args: string[], known: Record<string, number>): Record<string, number> {
  const values = { ...known };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.split('=', 2) as [string, string | undefined];
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--') || !(name in known)) throw new UsageError(`unknown option ${arg}`);
    const raw = inline ?? args[++i];
    const value = Number(raw);
    if (raw === undefined || !Number.isInteger(value) || value < 1) {
      throw new UsageError(`--${name} needs a positive integer, got ${raw ?? 'nothing'}`);
    }
    values[name] = value;
  }
  return values;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'demo') {
    if (rest.includes('--help')) {
      console.log(USAGE);
      return 0;
    }
    const flags = parseFlags(rest, { agents: 200, fanout: 5, concurrency: 16 });
    await runDemo({
      agents: flags.agents!, fanout: flags.fanout!, concurrency: flags.concurrency!,
      out: (line) => console.log(line),
    });
    return 0;
  }
  throw new UsageError(`unknown command ${command}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      console.error(`ringleader: ${err.message} (see ringleader --help)`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
