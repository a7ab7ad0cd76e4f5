// `ringleader bench [suite]`: runs the benchmark suites of a source checkout (bench/run.mjs,
// each suite printing its table and ratios) in a child node process, passing its exit code on.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from './args.js';

const RUNNER = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url));

export const BENCH_HELP = `usage: ringleader bench [suite]

Runs every benchmark suite, or only the one named (scheduler, resilience, distributed, io,
native, runtime); each prints raw figures and ringleader's ratio to its peers. Needs a source
checkout with its devDependencies installed (the peers are devDependencies).

options:
  --help    print this text`;

export async function benchCommand(args: readonly string[]): Promise<number> {
  const { positionals, help } = parseArgs(args, {}, 1);
  if (help) {
    console.log(BENCH_HELP);
    return 0;
  }
  if (!existsSync(RUNNER)) {
    console.error(`ringleader: no ${RUNNER}: the benchmarks ship with the source repository, not the npm package`);
    return 1;
  }
  const child = spawn(process.execPath, [RUNNER, ...positionals], { stdio: 'inherit' });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  if (signal !== null) console.error(`ringleader: the benchmarks were stopped by ${signal}`);
  return code ?? 1;
}
