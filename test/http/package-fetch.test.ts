// `ringleader/fetch` as a user loads it: from dist/, by its name, through import and require.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node = (args: string[]): string => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

it('import from "ringleader/fetch" gives the scheduled fetch and dispatcher, the same as the root', () => {
  const out = node(['--input-type=module', '-e', [
    "import * as sub from 'ringleader/fetch'; import * as rootMod from 'ringleader';",
    "const f = sub.scheduledFetch({ concurrency: 2 });",
    "console.log(typeof f, typeof f.stats, sub.scheduledDispatcher === rootMod.scheduledDispatcher, typeof sub.scheduledDispatcher().dispatch);",
  ].join('\n')]);
  expect(out.trim()).toBe('function function true function');
});

it('require("ringleader/fetch") works', () => {
  const out = node(['-e', "const { scheduledFetch } = require('ringleader/fetch'); console.log(typeof scheduledFetch({}).close);"]);
  expect(out.trim()).toBe('function');
});

it('importing ringleader does not load undici until a dispatcher is asked for', () => {
  const out = node(['--input-type=module', '-e', [
    "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    "const loaded = () => Object.keys(require.cache).some((k) => k.includes('/node_modules/undici/'));",
    "const r = await import('ringleader'); const before = loaded(); r.scheduledFetch(); const afterFetch = loaded();",
    'r.scheduledDispatcher(); console.log(before, afterFetch, loaded());',
  ].join('\n')]);
  expect(out.trim()).toBe('false false true');
});
