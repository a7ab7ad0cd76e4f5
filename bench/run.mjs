// `npm run bench`: every benchmark suite in turn, each printing its own table and
// ratios. Suites are separate scripts so one can be run alone (npm run bench:<name>).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const suites = ['scheduler', 'resilience', 'distributed', 'io', 'native', 'runtime'];
const only = process.argv.slice(2);
const unknown = only.filter((name) => !suites.includes(name));
if (unknown.length > 0) {
  console.error(`unknown suite ${unknown.join(', ')}; one of ${suites.join(', ')}`);
  process.exit(2);
}

let failed = 0;
for (const name of only.length > 0 ? only : suites) {
  const script = fileURLToPath(new URL(`./${name}/run.mjs`, import.meta.url));
  if (!existsSync(script)) continue;
  console.log(`\n== bench:${name} ==`);
  const { status } = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
