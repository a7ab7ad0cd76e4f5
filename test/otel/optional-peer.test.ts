// @opentelemetry/api is an optional peer: the package root must load without it, and only
// ringleader/otel may ask for it. Checked on dist/, as a user loads the package.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

// A resolve hook that makes every @opentelemetry package missing, as in an install without them.
function withoutOtel(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rl-no-otel-'));
  writeFileSync(join(dir, 'hooks.mjs'), [
    'export async function resolve(specifier, context, next) {',
    "  if (specifier.startsWith('@opentelemetry/')) {",
    "    throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });",
    '  }',
    '  return next(specifier, context);',
    '}',
  ].join('\n'));
  writeFileSync(join(dir, 'register.mjs'),
    "import { register } from 'node:module';\nregister(new URL('./hooks.mjs', import.meta.url));\n");
  return join(dir, 'register.mjs');
}

function run(register: string, code: string): string {
  return execFileSync(process.execPath, ['--import', register, '--input-type=module', '-e', code], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('@opentelemetry/api as an optional peer', () => {
  it('imports ringleader and runs a task when @opentelemetry/api cannot be found', () => {
    const out = run(withoutOtel(), "import { Scheduler } from 'ringleader'; console.log(await new Scheduler({ concurrency: 1 }).run(() => 'ran'));");
    expect(out.trim()).toBe('ran');
  });

  it('fails only the ringleader/otel import, naming the missing package', () => {
    const out = run(withoutOtel(), "try { await import('ringleader/otel'); console.log('loaded'); } catch (e) { console.log(e.code, e.message); }");
    expect(out).toContain('ERR_MODULE_NOT_FOUND');
    expect(out).toContain('@opentelemetry/api');
  });

  it('never reaches an @opentelemetry import from the root entry\'s module graph', () => {
    const seen = new Set<string>();
    const offenders: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = readFileSync(file, 'utf8');
      for (const [, spec] of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        if (spec!.startsWith('@opentelemetry/')) offenders.push(`${file}: ${spec}`);
        else if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!));
      }
    };
    visit(join(root, 'dist/index.js'));
    expect(seen.size).toBeGreaterThan(20);
    expect(offenders).toEqual([]);
  });

  it('loads instrument from ringleader/otel when the API is installed', async () => {
    const mod = await import('ringleader/otel');
    expect(typeof mod.instrument).toBe('function');
  });
});
