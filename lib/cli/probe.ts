// `ringleader probe`: what this host offers the I/O engine. Today that is what Node itself
// can see (platform, kernel, the io_uring sysctl, cores); the native addon's probe() adds
// opcodes, seccomp and memlock answers through `nativeStatus` once it is built.

import { readFileSync } from 'node:fs';
import { availableParallelism, release } from 'node:os';
import { parseArgs } from './args.js';

export interface ProbeReport {
  platform: string;
  arch: string;
  kernel: string;
  cores: number;
  /** What kernel.io_uring_disabled says for this process; undefined off Linux. */
  ioUringSysctl: { allows: boolean; detail: string } | undefined;
  native: { loaded: boolean; detail: string };
  /** The backend `auto` would choose, and why. */
  backend: { name: 'io_uring' | 'threads' | 'js'; reason: string };
}

export const PROBE_HELP = `usage: ringleader probe [--json]

Prints what this host offers ringleader's I/O engine: platform, kernel, whether
kernel.io_uring_disabled lets this process use io_uring, cores, and the backend
that Engine.open({ backend: 'auto' }) would choose.

options:
  --json    print the findings as one JSON document
  --help    print this text`;

export function probeCommand(args: readonly string[]): number {
  const { flags, help } = parseArgs(args, { json: { kind: 'boolean' } });
  if (help) {
    console.log(PROBE_HELP);
    return 0;
  }
  const report = collectProbe();
  if (flags.json === true) {
    console.log(JSON.stringify(report));
    return 0;
  }
  const rows: Array<[string, string]> = [
    ['platform', `${report.platform} ${report.arch}`],
    ['kernel', report.kernel],
    ['io_uring', report.ioUringSysctl === undefined ? 'not on this platform' : report.ioUringSysctl.detail],
    ['cores', `${report.cores} (os.availableParallelism)`],
    ['native addon', report.native.detail],
    ['backend', `auto would choose ${report.backend.name}: ${report.backend.reason}`],
  ];
  for (const [name, value] of rows) console.log(`${name.padEnd(13)} ${value}`);
  return 0;
}

export function collectProbe(): ProbeReport {
  const ioUringSysctl = process.platform === 'linux' ? ioUringPolicy() : undefined;
  const native = nativeStatus();
  return {
    platform: process.platform,
    arch: process.arch,
    kernel: release(),
    cores: availableParallelism(),
    ioUringSysctl,
    native,
    backend: { name: 'js', reason: 'fs.promises, since no native addon is loaded' },
  };
}

// The addon is not part of this build yet; its probe() answers here once it is.
function nativeStatus(): { loaded: boolean; detail: string } {
  return { loaded: false, detail: 'not built yet: the io_uring and threads backends need it (issue 4)' };
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
