// Backend selection in fresh processes: RINGLEADER_BACKEND forcing js, the addon absent
// (loader pointed at an empty directory), and io_uring refused by seccomp so `auto` takes
// threads. Each child imports the built dist/, as an installed package would.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { availableBackends, root, runChild, tempDir } from './helpers.js';

const dir = tempDir('fallback');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const report = `
import { Engine } from ${JSON.stringify(join(root, 'dist/engine/index.js'))};
const engine = await Engine.open();
const data = await engine.readFile(${JSON.stringify(join(root, 'package.json'))});
console.log(JSON.stringify({ backend: engine.backend, fallbackReason: engine.fallbackReason ?? null, ok: data.length > 0 }));
await engine.close();
`;

function compileHelper(): string | undefined {
  const out = join(dir, 'no_io_uring');
  try {
    execFileSync('cc', ['-O2', '-o', out, join(root, 'native/test/no_io_uring.c')], { stdio: 'pipe' });
    return out;
  } catch {
    return undefined;
  }
}

const native = availableBackends().includes('threads');
const helper = native && process.platform === 'linux' ? compileHelper() : undefined;

describe('backend selection', () => {
  it('runs js with a reason when RINGLEADER_BACKEND=js', async () => {
    expect(await runChild(report, { RINGLEADER_BACKEND: 'js' })).toEqual({
      backend: 'js', fallbackReason: 'forced by RINGLEADER_BACKEND=js', ok: true,
    });
  });

  it('runs js with the load error as the reason when no addon is built', async () => {
    const empty = join(dir, 'empty');
    execFileSync('mkdir', ['-p', empty]);
    const result = await runChild(report, { RINGLEADER_ADDON_PATH: empty, RINGLEADER_BACKEND: '' }) as { backend: string; fallbackReason: string };
    expect(result.backend).toBe('js');
    expect(result.fallbackReason).toMatch(/^native addon not loaded: /);
  });

  it.skipIf(helper === undefined)('picks threads with the EPERM reason when seccomp refuses io_uring_setup', async () => {
    const result = await runChild(report, { RINGLEADER_BACKEND: '' }, [helper!]) as { backend: string; fallbackReason: string };
    expect(result.backend).toBe('threads');
    expect(result.fallbackReason).toMatch(/io_uring unavailable: io_uring_setup: EPERM/);
  });

  it.skipIf(helper === undefined)('rejects an explicit io_uring backend when io_uring is refused', async () => {
    const source = `
import { Engine } from ${JSON.stringify(join(root, 'dist/engine/index.js'))};
try { await Engine.open({ backend: 'io_uring' }); console.log('null'); }
catch (err) { console.log(JSON.stringify({ code: err.code, syscall: err.syscall })); }`;
    expect(await runChild(source, { RINGLEADER_BACKEND: '' }, [helper!])).toEqual({ code: 'EPERM', syscall: 'io_uring_setup' });
  });
});
