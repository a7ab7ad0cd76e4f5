import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, clearTimer, setTimer } from '../../lib/timer.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('setTimer', () => {
  it('arms nothing for Infinity', () => {
    const fn = vi.fn();
    expect(setTimer(fn, Infinity)).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2 ** 40);
    expect(fn).not.toHaveBeenCalled();
  });

  it.each([MAX_TIMER_MS, 2 ** 31, 2 ** 33, 2 ** 33 + 12_345])('fires after %d ms, not a millisecond sooner', (ms) => {
    const fn = vi.fn();
    setTimer(fn, ms);
    vi.advanceTimersByTime(ms - 1);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(2 ** 34);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a chained timer cleared between links never fires', () => {
    const fn = vi.fn();
    const handle = setTimer(fn, 2 ** 33);
    vi.advanceTimersByTime(2 ** 32);
    clearTimer(handle);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(2 ** 34);
    expect(fn).not.toHaveBeenCalled();
  });

  it.each([-1, Number.NaN, -Infinity])('refuses a delay of %d ms with a RangeError', (ms) => {
    expect(() => setTimer(() => {}, ms)).toThrow(RangeError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clearTimer accepts undefined (no timer was armed)', () => {
    expect(() => clearTimer(undefined)).not.toThrow();
  });
});

describe('setTimer with real timers', () => {
  it('an unref\'d chained timer keeps no process alive and prints no TimeoutOverflowWarning', () => {
    vi.useRealTimers();
    const script = [
      "import { setTimer } from './dist/timer.js';",
      'const h = setTimer(() => { console.log("fired"); }, 2 ** 33);',
      'h.unref();',
      // Re-armed links inherit the unref: nothing here may keep the loop alive.
      'h.ref(); h.unref();',
    ].join('\n');
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../..', import.meta.url), encoding: 'utf8', timeout: 20_000,
    });
    expect(child.status).toBe(0);
    expect(child.stdout).toBe('');
    expect(child.stderr).not.toMatch(/TimeoutOverflowWarning/);
  });
});
