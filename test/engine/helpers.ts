// Shared by the engine tests: which backends this machine can run, temp dirs, and a
// child-node runner for cases that need their own process (env, seccomp, no addon).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAddon } from '../../lib/engine/native.js';
import type { BackendName } from '../../lib/engine/types.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const distEngine = join(root, 'dist/engine/index.js');

export function availableBackends(): BackendName[] {
  const loaded = loadAddon();
  if ('error' in loaded) return ['js'];
  return loaded.addon.probe().io_uring ? ['io_uring', 'threads', 'js'] : ['threads', 'js'];
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `ringleader-${name}-`));
}

/** Runs an ES module snippet in a fresh node (importing the built dist) and parses its JSON output. */
export function runChild(source: string, env: NodeJS.ProcessEnv = {}, wrapper: string[] = []): Promise<unknown> {
  if (!existsSync(distEngine)) throw new Error(`${distEngine} is missing: run npm run build first`);
  const command = [...wrapper, process.execPath, '--input-type=module', '-e', source];
  return new Promise((resolve, reject) => {
    execFile(command[0]!, command.slice(1), { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}
