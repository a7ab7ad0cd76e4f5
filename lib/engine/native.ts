// Loads the N-API addon (a prebuild from prebuilds/, else build/Release) through
// node-gyp-build, once per thread. A failure is kept as a reason string, never thrown, so
// Engine.open can fall back to the js backend and say why in engine.fallbackReason.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { messageOf } from '../validate.js';

/** Fields behind probe(): why io_uring can or cannot run here. */
export interface NativeProbe {
  io_uring: boolean;
  errno: number;
  code: string | null;
  reason: string;
  kernel: string;
  opcodes: string[];
  setupFlags: number;
  features: number;
  ioUringDisabled: number;
  seccompMode: number;
}

export interface NativeShardInfo {
  cpu: number;
  cpuRequested: number;
  pinError: string | null;
  ringFlags: number;
  sqEntries: number;
  directDescriptors: boolean;
}

export interface NativeEngineOptions {
  backend: 'io_uring' | 'threads';
  shards: number;
  pin: boolean;
  queueDepth: number;
  capacity: number;
}

/**
 * Read batch: `arena` holds `count` int32 results and `count` uint8 syscall codes, then
 * from byte `data` one `slot`-byte slot per file; file i's bytes start at data + i * slot
 * unless its code is kAdopted, when they are `adopted[i]`. A file refused as too large
 * (result -EFBIG) has its size in `adopted[i]`. `nextBatch` is how many paths the addon
 * takes per readFiles call from now on.
 */
export type OnRead = (token: number, count: number, arena: ArrayBuffer, adopted: (Buffer | number | undefined)[] | undefined,
  data: number, slot: number, nextBatch: number) => void;
export type OnWrite = (token: number, result: number, syscall: number) => void;
export type OnStat = (token: number, result: number, syscall: number, size: number, mtimeSec: number,
  mtimeNsec: number, mode: number) => void;

export interface NativeEngine {
  /**
   * Submits a prefix of `count` paths joined by NUL as one batch: at most one arena's
   * worth, and only what the shards have room for; returns how many were taken (0 when
   * they are full, or would take only a sliver of a longer list).
   */
  readFiles(paths: string, count: number, token: number): number;
  writeFile(path: string, data: Uint8Array, token: number): boolean;
  stat(path: string, token: number): boolean;
  /** Synchronous: every batch still out is delivered before it returns. */
  close(): void;
  info(): { backend: 'io_uring' | 'threads'; shards: NativeShardInfo[] };
  outstanding(): number;
  /** Ops the shards would take now, between them; 0 once closed. */
  room(): number;
}

export interface Addon {
  Engine: new (options: NativeEngineOptions, onRead: OnRead, onWrite: OnWrite, onStat: OnStat) => NativeEngine;
  probe(): NativeProbe;
  pinCurrentThread(core: number): number | string;
  napiVersion: number;
}

/** Syscall codes the addon reports (native/addon/engine_wrap.cc, SyscallCode). */
export const kSyscalls = ['', 'open', 'read', 'write', 'close', 'stat', 'fstat'] as const;
/** Arena entry whose bytes travel as their own Buffer in `adopted`. */
export const kAdopted = 255;

/** The package root: dist/engine/ and lib/engine/ both sit two levels below it. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

let loaded: { addon: Addon } | { error: string } | undefined;

/**
 * RINGLEADER_ADDON_PATH points the loader at a .node file or at a directory searched the
 * way the package root is (tests use it for the cmake-js build and for an empty one).
 */
export function loadAddon(): { addon: Addon } | { error: string } {
  if (loaded !== undefined) return loaded;
  const require = createRequire(import.meta.url);
  const override = process.env['RINGLEADER_ADDON_PATH'];
  try {
    if (override !== undefined && override.endsWith('.node')) {
      loaded = { addon: require(override) as Addon };
    } else {
      const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
      loaded = { addon: nodeGypBuild(override ?? packageRoot) as Addon };
    }
  } catch (err) {
    loaded = { error: `native addon not loaded: ${messageOf(err).split('\n')[0]}${installReason()}` };
  }
  return loaded;
}

/** Why the install script built nothing (scripts/install.mjs leaves it), as a suffix. */
function installReason(): string {
  try {
    return `; at install: ${readFileSync(join(packageRoot, 'build', 'install-reason.txt'), 'utf8').trim()}`;
  } catch {
    return '';
  }
}

/** Whether io_uring can run here and why not, as the native probe sees it. */
export function probe(): { io_uring: boolean; reason?: string; kernel: string; opcodes: string[] } {
  const result = loadAddon();
  if ('error' in result) return { io_uring: false, reason: result.error, kernel: release(), opcodes: [] };
  const p = result.addon.probe();
  return p.io_uring
    ? { io_uring: true, kernel: p.kernel, opcodes: p.opcodes }
    : { io_uring: false, reason: p.reason, kernel: p.kernel, opcodes: p.opcodes };
}

/**
 * Pins the calling thread (main or worker) to one CPU. Returns the core, or the reason it
 * could not (the affinity call's error, or the addon being absent).
 */
export function pinCurrentThread(core: number): number | string {
  if (!Number.isInteger(core) || core < 0) throw new RangeError(`core must be a non-negative integer, got ${core}`);
  const result = loadAddon();
  return 'error' in result ? result.error : result.addon.pinCurrentThread(core);
}
