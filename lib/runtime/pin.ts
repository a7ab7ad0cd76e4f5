// Pins the calling thread to one core through the native addon, and says why when it
// cannot: no addon built yet, an addon without pinning, or the kernel refusing the mask.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadAddon, pinCurrentThread as pinThread } from '../engine/native.js';
import { messageOf } from '../validate.js';

export type PinResult = { core: number } | { refused: string };

/** Why pinning cannot work in this process, or undefined when the addon offers it. */
export function pinningUnavailable(): string | undefined {
  const loaded = loadAddon();
  return 'error' in loaded ? loaded.error : undefined;
}

/** Pins the calling thread to `core` (each worker pins itself); never throws. */
export function pinCurrentThread(core: number): PinResult {
  try {
    const result = pinThread(core);
    return typeof result === 'number' ? { core: result } : { refused: result };
  } catch (err) {
    // Loader errors append a require stack that says nothing to someone reading stats().
    return { refused: messageOf(err).split('\n')[0]! };
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
