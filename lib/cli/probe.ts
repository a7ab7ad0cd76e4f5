// `ringleader probe`: what this host offers the I/O engine: what Node itself can see
// (platform, kernel, the io_uring sysctl, cores), what the native addon's probe finds
// (io_uring usable or why not, opcodes, seccomp), whether a thread can be pinned, and the
// backend Engine.open({ backend: 'auto' }) actually picks, found by opening one.

import { readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { Engine } from '../engine/index.js';
import { type Addon, loadAddon } from '../engine/native.js';
import { messageOf } from '../validate.js';
import { parseArgs } from './args.js';

export interface ProbeReport {
  platform: string;
  arch: string;
  kernel: string;
  cores: number;
  /** What kernel.io_uring_disabled says for this process; undefined off Linux. */
  ioUringSysctl: { allows: boolean; detail: string } | undefined;
  native: { loaded: boolean; detail: string };
  /** What the addon's probe found; undefined without the addon. */
  ioUring: { usable: boolean; reason: string; opcodes: string[]; seccompMode: number } | undefined;
  /** Whether a shard thread of an opened engine could be pinned, and to which core. */
  pinning: { works: boolean; detail: string } | undefined;
  /** The backend `auto` chose when the probe opened an engine, and why. */
  backend: { name: 'io_uring' | 'threads' | 'js'; reason: string };
}

export const PROBE_HELP = `usage: ringleader probe [--json]

Prints what this host offers ringleader's I/O engine: platform, kernel, whether
kernel.io_uring_disabled lets this process use io_uring, cores, and the backend
that Engine.open({ backend: 'auto' }) would choose.

options:
  --json    print the findings as one JSON document
  --help    print this text`;

export async function probeCommand(args: readonly string[]): Promise<number> {
  const { flags, help } = parseArgs(args, { json: { kind: 'boolean' } });
  if (help) {
    console.log(PROBE_HELP);
    return 0;
  }
  const report = await collectProbe();
  if (flags.json === true) {
    console.log(JSON.stringify(report));
    return 0;
  }
  const rows: Array<[string, string]> = [
    ['platform', `${report.platform} ${report.arch}`],
    ['kernel', report.kernel],
    ['sysctl', report.ioUringSysctl === undefined ? 'not on this platform' : report.ioUringSysctl.detail],
    ['cores', `${report.cores} (os.availableParallelism)`],
    ['native addon', report.native.detail],
    ['io_uring', report.ioUring === undefined ? 'unknown without the addon'
      : report.ioUring.usable ? `usable; opcodes: ${report.ioUring.opcodes.join(' ')}` : `not usable: ${report.ioUring.reason}`],
    ['seccomp', report.ioUring === undefined ? 'unknown without the addon' : seccompText(report.ioUring.seccompMode)],
    ['pinning', report.pinning === undefined ? 'unknown without the addon' : report.pinning.detail],
    ['backend', `auto would choose ${report.backend.name}: ${report.backend.reason}`],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(13)} ${value}`);
  return 0;
}

export async function collectProbe(): Promise<ProbeReport> {
  const ioUringSysctl = process.platform === 'linux' ? ioUringPolicy() : undefined;
  const loaded = loadAddon();
  const base = {
    platform: process.platform,
    arch: process.arch,
    kernel: release(),
    cores: availableParallelism(),
    ioUringSysctl,
  };
  if ('error' in loaded) {
    return {
      ...base,
      native: { loaded: false, detail: loaded.error },
      ioUring: undefined,
      pinning: undefined,
      backend: { name: 'js', reason: `fs.promises on the libuv pool: ${loaded.error}` },
    };
  }
  const p = loaded.addon.probe();
  const ioUring = { usable: p.io_uring, reason: p.reason, opcodes: p.opcodes, seccompMode: p.seccompMode };
  // Open an engine as `auto` does, so the answer is what users get, not a guess.
  let backend: ProbeReport['backend'];
  let pinning: ProbeReport['pinning'];
  try {
    const engine = await Engine.open({ backend: 'auto', shards: 1 });
    backend = { name: engine.backend, reason: engine.fallbackReason ?? 'io_uring works here' };
    await engine.close();
    pinning = pinProbe(loaded.addon, engine.backend === 'io_uring' ? 'io_uring' : 'threads');
  } catch (err) {
    backend = { name: 'js', reason: `opening a native engine failed: ${messageOf(err)}` };
  }
  return { ...base, native: { loaded: true, detail: `loaded (N-API ${loaded.addon.napiVersion})` }, ioUring, pinning, backend };
}

/** Opens one pinned shard of the addon's engine and reads back where it runs. */
function pinProbe(addon: Addon, backend: 'io_uring' | 'threads'): { works: boolean; detail: string } {
  const none = (): void => {};
  try {
    const native = new addon.Engine({ backend, shards: 1, pin: true, queueDepth: 8, capacity: 8 }, none, none, none);
    try {
      const shard = native.info().shards[0];
      if (shard === undefined) return { works: false, detail: 'the engine reported no shard' };
      return shard.pinError === null
        ? { works: true, detail: `a shard thread pinned itself to core ${shard.cpu}` }
        : { works: false, detail: `refused: ${shard.pinError} (shards run unpinned)` };
    } finally {
      native.close();
    }
  } catch (err) {
    return { works: false, detail: `could not open a shard: ${messageOf(err)}` };
  }
}

function seccompText(mode: number): string {
  return mode === 0 ? 'off' : mode === 1 ? 'strict mode' : mode === 2 ? 'filter mode (a filter may refuse io_uring)' : `mode ${mode}`;
}

/** kernel.io_uring_disabled: 0 everyone, 1 only CAP_SYS_ADMIN or io_uring_group, 2 no one (Linux 6.6+). */
function ioUringPolicy(): { allows: boolean; detail: string } {
  const value = readSysctl('io_uring_disabled');
  if (value === undefined) {
    return { allows: true, detail: 'no kernel.io_uring_disabled sysctl (kernel before 6.6): not disabled by sysctl' };
  }
  if (value === '0') return { allows: true, detail: 'kernel.io_uring_disabled = 0: allowed for every process' };
  if (value === '2') return { allows: false, detail: 'kernel.io_uring_disabled = 2: disabled for every process' };
  const group = readSysctl('io_uring_group');
  const root = process.getuid?.() === 0;
  const member = group !== undefined && (process.getgroups?.() ?? []).includes(Number(group));
  const allows = root || member;
  return {
    allows,
    detail: `kernel.io_uring_disabled = ${value}: ${allows ? 'allowed' : 'disabled'} for this process ` +
      `(${root ? 'root' : member ? `member of io_uring_group ${group}` : 'not root, not in io_uring_group'})`,
  };
}

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(`/proc/sys/kernel/${name}`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
