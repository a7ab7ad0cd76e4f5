// A scheduler with nothing left to do must not hold the process open (p-queue#163): not
// through a rate window, a retry policy, a breaker, or a key still paused by a 429.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('process exit', () => {
  it('exits once the work is done although a key is paused for a minute', () => {
    const script = `
      import { Scheduler } from 'ringleader';
      const s = new Scheduler({
        concurrency: 2,
        rate: { limit: 100, interval: 1000 },
        retry: { retries: 0 },
        breaker: { failureThreshold: 5, halfOpenAfter: 60000 },
      });
      const err = Object.assign(new Error('slow down'), { status: 429, headers: { 'retry-after': '60' } });
      await s.run(() => { throw err; }, { key: 'tenant' }).catch(() => {});
      await s.run(() => 'other work', { key: 'another' });
      await s.onIdle();
      console.log('done');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root, encoding: 'utf8', timeout: 20_000,
    });
    expect(child.error).toBeUndefined();
    expect(child.stdout.trim()).toBe('done');
    expect(child.status).toBe(0);
  });
});
