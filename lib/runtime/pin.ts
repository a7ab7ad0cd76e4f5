// Pins the calling thread to one core through the native addon, and says why when it
// cannot: no addon built yet, an addon without pinning, or the kernel refusing the mask.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadAddon } from '../engine/native.js';

export type PinResult = { core: number } | { refused: string };

// Loader errors append a require stack that says nothing to someone reading stats().
function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

// The addon is loaded once per thread (each worker pins itself, so each loads it).
function loadPinner(): ((core: number) => unknown) | string {
  const loaded = loadAddon();
  if ('error' in loaded) return loaded.error;
  const fn: unknown = loaded.addon.pinCurrentThread;
  return typeof fn === 'function' ? (fn as (core: number) => unknown) : 'the native addon has no pinCurrentThread()';
}

/** Why pinning cannot work in this process, or undefined when the addon offers it. */
export function pinningUnavailable(): string | undefined {
  const p = loadPinner();
  return typeof p === 'string' ? p : undefined;
}

/** Pins the calling thread to `core`; never throws. */
export function pinCurrentThread(core: number): PinResult {
  const p = loadPinner();
  if (typeof p === 'string') return { refused: p };
  try {
    const result = p(core);
    if (typeof result === 'number') return { core: result };
    if (typeof result === 'string') return { refused: result };
    return { refused: `pinCurrentThread returned ${typeof result}` };
  } catch (err) {
    return { refused: firstLine(err) };
  }
}

/** The cores this process may run on (Linux cpuset aware), lowest first. */
export function allowedCores(): number[] {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (line !== null) {
      const cores: number[] = [];
      for (const part of line[1]!.split(',')) {
        const [lo, hi = lo] = part.split('-').map(Number);
        for (let c = lo!; c <= hi!; c++) cores.push(c);
      }
      if (cores.length > 0 && cores.every(Number.isInteger)) return cores;
    }
  } catch {
    // Not Linux, or /proc hidden: fall through to the portable count.
  }
  return Array.from({ length: availableParallelism() }, (_, i) => i);
}
