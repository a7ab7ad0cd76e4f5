// The package as a user loads it: from dist/, by its name, through import and require.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

function node(args: string[]): { stdout: string } {
  const stdout = execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return { stdout };
}

describe('package entry points', () => {
  it('import { Scheduler } from "ringleader" works and runs a task', () => {
    const { stdout } = node(['--input-type=module', '-e',
      "import { Scheduler } from 'ringleader'; const s = new Scheduler({ concurrency: 1 }); console.log(await s.run(() => 'ran'));"]);
    expect(stdout.trim()).toBe('ran');
  });

  it('require("ringleader") works and shares the same error classes', () => {
    const { stdout } = node(['-e', [
      "const r = require('ringleader');",
      'const s = new r.Scheduler({ concurrency: 1, maxQueued: 0 });',
      "s.run(() => new Promise(() => {})); s.run(() => 1).catch((e) => { console.log(e instanceof r.QueueFullError, e.code); process.exit(0); });",
    ].join('\n')]);
    expect(stdout.trim()).toBe('true ERR_QUEUE_FULL');
  });

  it('exports every public name of the contract', async () => {
    const mod = await import('ringleader');
    for (const name of ['Scheduler', 'Semaphore', 'limit', 'RingleaderError', 'QueueFullError', 'ClosedError',
      'TimeoutError', 'CircuitOpenError', 'DroppedError', 'StoreUnavailableError', 'retry', 'TokenBucket', 'CircuitBreaker',
      'Engine', 'probe', 'WorkerPool', 'WorkerCrashedError', 'RedisStore']) {
      expect(mod, name).toHaveProperty(name);
    }
  });

  it('ringleader/runtime-worker resolves to the worker side of WorkerPool', async () => {
    const mod = await import('ringleader/runtime-worker');
    expect(typeof mod.defineWorker).toBe('function');
  });

  it('the ringleader command prints usage and exits 2 on a bad flag', () => {
    const { stdout } = node(['dist/cli/main.js', '--help']);
    expect(stdout).toContain('usage: ringleader');
    let status = 0;
    try {
      node(['dist/cli/main.js', 'demo', '--agents', 'many']);
    } catch (err) {
      status = (err as { status: number }).status;
    }
    expect(status).toBe(2);
  });

  it('the demo runs the scheduler and completes every agent on ringleader', () => {
    const report = join(mkdtempSync(join(tmpdir(), 'ringleader-')), 'report.html');
    const { stdout } = node(['dist/cli/main.js', 'demo', '--agents', '5', '--fanout', '2', '--duration-scale', '0.01',
      '--strategies', 'ringleader-js', '--json', '--report', report]);
    const result = JSON.parse(stdout) as { strategies: Array<{ strategy: string; completed: number; failed: number }> };
    expect(result.strategies[0]).toMatchObject({ strategy: 'ringleader-js', completed: 5, failed: 0 });
  });
});
