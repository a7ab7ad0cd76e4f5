// Keeps the process from changing user or group identity while an io_uring ring is open.
// CVE-2024-22017: io_uring work runs with the credentials captured when the ring was set
// up, so after process.setuid() drops privileges, requests already queued (or queued later
// on the same ring) would still run as the old user - root, typically. Node turned its own
// libuv ring off for this reason; we keep ours and refuse the identity change instead.
import { RingleaderError } from '../errors.js';

const kMethods = ['setuid', 'seteuid', 'setgid', 'setegid', 'setgroups', 'initgroups'] as const;
type Method = (typeof kMethods)[number];

/** process.setuid and friends refused while a native io_uring engine is open. */
export class IdentityLockedError extends RingleaderError {
  constructor(method: string) {
    super('ERR_IDENTITY_LOCKED',
      `process.${method}() is refused while an io_uring engine is open: queued io_uring work would keep ` +
      'the current credentials (CVE-2024-22017); close every Engine first');
  }
}

let holders = 0;
const saved = new Map<Method, unknown>();

function install(): void {
  const proc = process as unknown as Record<Method, unknown>;
  for (const method of kMethods) {
    const original = proc[method];
    // Absent on Windows and stubbed out in worker threads; nothing to guard there.
    if (typeof original !== 'function') continue;
    saved.set(method, original);
    proc[method] = function guarded(): never {
      throw new IdentityLockedError(method);
    };
  }
}

function restore(): void {
  const proc = process as unknown as Record<Method, unknown>;
  for (const [method, original] of saved) proc[method] = original;
  saved.clear();
}

/** Arms the guard until the returned release function runs (idempotent). */
export function holdIdentity(): () => void {
  if (holders++ === 0) install();
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--holders === 0) restore();
  };
}
