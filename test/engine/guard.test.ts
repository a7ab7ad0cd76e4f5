// While an io_uring engine is open the process must not change identity (CVE-2024-22017):
// process.setuid and friends throw, and work again once the last engine closes.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../lib/engine/engine.js';
import { IdentityLockedError } from '../../lib/engine/identity-guard.js';
import { availableBackends } from './helpers.js';

const hasRing = availableBackends().includes('io_uring');
const isRoot = process.getuid?.() === 0;

describe.skipIf(!hasRing)('identity guard', () => {
  it('makes setuid and friends throw while an io_uring engine is open, until the last one closes', async () => {
    const a = await Engine.open({ backend: 'io_uring' });
    const b = await Engine.open({ backend: 'io_uring' });
    for (const call of [() => process.setuid!(0), () => process.seteuid!(0), () => process.setgid!(0),
      () => process.setegid!(0), () => process.setgroups!([0]),
      () => (process as unknown as { initgroups(user: string, group: number): void }).initgroups('root', 0)]) {
      expect(call).toThrow(IdentityLockedError);
    }
    await a.close();
    expect(() => process.setuid!(0)).toThrow(IdentityLockedError);
    await b.close();
    if (isRoot) {
      // As root, setting uid 0 again changes nothing, so it is a safe probe of the real function.
      expect(() => process.setuid!(0)).not.toThrow();
    } else {
      expect(() => process.setuid!(process.getuid!())).not.toThrow(IdentityLockedError);
    }
  });

  it('leaves setuid alone for the threads backend', async () => {
    const engine = await Engine.open({ backend: 'threads' });
    expect(process.setuid!.name).not.toBe('guarded');
    await engine.close();
  });
});
