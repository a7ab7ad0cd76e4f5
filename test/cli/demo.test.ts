// `ringleader demo` as a user runs it, from the built dist/ in a child process: ringleader
// finishes every agent with no failures while the naive strategy meets 429s, --json keeps
// stdout to one JSON document, and the report lands where --report says.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/engine/native.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const main = join(root, 'dist/cli/main.js');
// The native strategy runs wherever the addon loads (CI builds it); elsewhere it is skipped with the reason.
const nativeError = ((loaded) => ('error' in loaded ? loaded.error : undefined))(loadAddon());
const strategies = ['naive', 'p-limit', 'ringleader-js', ...(nativeError === undefined ? ['ringleader-native'] : []), 'ringleader-fetch'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface ProbeJson {
  kernel: string;
  cores: number;
  native: { loaded: boolean };
  ioUring?: { usable: boolean; opcodes: string[] };
  pinning?: { works: boolean; detail: string };
  backend: { name: string; reason: string };
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { cwd: root, timeout: 60_000, maxBuffer: 16 << 20, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
    });
  });
}

interface StrategyJson {
  strategy: string;
  completed: number;
  failed: number;
  requests: number;
  rateLimited: number;
  learned?: string;
  wallMs: number;
  p50Ms: number | null;
  p99Ms: number | null;
  peakRssBytes: number;
}

let dir: string;

beforeAll(async () => {
  if (!existsSync(main)) throw new Error(`${main} is missing: build first (npx tsc -p tsconfig.json)`);
  dir = await mkdtemp(join(tmpdir(), 'ringleader-demo-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ringleader demo --json', () => {
  let run: Run;
  let doc: { strategies: StrategyJson[]; report: string; skipped: unknown[] };

  beforeAll(async () => {
    run = await cli(['demo', '--agents', '20', '--fanout', '4', '--duration-scale', '0.01', '--json', '--seed', '1',
      '--report', join(dir, 'report.html')]);
    doc = JSON.parse(run.stdout) as typeof doc;
  });

  it('exits 0 with exactly one JSON document on stdout', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(doc.skipped).toEqual(nativeError === undefined ? [] : [{ strategy: 'ringleader-native', reason: nativeError }]);
  });

  it('reports every strategy in the documented shape', () => {
    expect(doc.strategies.map((s) => s.strategy)).toEqual(strategies);
    for (const s of doc.strategies) {
      for (const field of ['completed', 'failed', 'requests', 'rateLimited', 'wallMs', 'peakRssBytes'] as const) {
        expect(typeof s[field], `${s.strategy}.${field}`).toBe('number');
      }
      expect(s.completed + s.failed).toBe(20);
      expect(s.peakRssBytes).toBeGreaterThan(1 << 20);
    }
  });

  it('ringleader strategies complete every agent with zero failures', () => {
    const ours = doc.strategies.filter((s) => s.strategy.startsWith('ringleader'));
    expect(ours.length).toBeGreaterThan(0);
    for (const s of ours) {
      expect(s).toMatchObject({ completed: 20, failed: 0 });
      expect(s.p50Ms).toBeGreaterThan(0);
      expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms!);
    }
  });

  it('ringleader-fetch, the unchanged openai SDK with no rate options, meets no more 429s than ringleader-js + 5%', () => {
    const hand = doc.strategies.find((s) => s.strategy === 'ringleader-js')!;
    const learned = doc.strategies.find((s) => s.strategy === 'ringleader-fetch')!;
    expect(learned.rateLimited).toBeLessThanOrEqual(Math.ceil(hand.rateLimited * 1.05));
  });

  it('ringleader-fetch reports the limits it learned and the header each came from', () => {
    const learned = doc.strategies.find((s) => s.strategy === 'ringleader-fetch')!;
    expect(learned.learned).toMatch(/600 requests \(x-ratelimit-remaining-requests, \d+ answers\)/);
    expect(learned.learned).toMatch(/800,000 tokens \(x-ratelimit-remaining-tokens/);
    expect(run.stderr).toMatch(/^ringleader-fetch: learned 600 requests/m);
  });

  it('the naive strategy meets 429s', () => {
    const naive = doc.strategies.find((s) => s.strategy === 'naive')!;
    expect(naive.rateLimited).toBeGreaterThan(0);
  });

  it('writes the report where --report says, with one chart per strategy', async () => {
    expect(doc.report).toBe(join(dir, 'report.html'));
    const html = await readFile(doc.report, 'utf8');
    expect(html.match(/<figure class="chart"/g)).toHaveLength(strategies.length);
  });

  it('sends progress and the table to stderr', () => {
    expect(run.stderr).toMatch(/ringleader-js .*\[#+\] 20\/20/);
    expect(run.stderr).toMatch(/^strategy +tasks done +failed +requests +429s/m);
  });
});

describe('ringleader demo without --json', () => {
  it('prints plain progress lines, the table and the report path when stdout is not a terminal', async () => {
    const report = join(dir, 'plain.html');
    const run = await cli(['demo', '--agents', '5', '--fanout', '2', '--duration-scale', '0.01',
      '--strategies', 'ringleader-js,naive', '--report', report]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).not.toContain('\x1b[');
    expect(run.stdout).not.toContain('\r');
    expect(run.stdout).toMatch(/^ringleader-js +5 +0 /m);
    expect(run.stdout).toContain('ringleader-js vs naive');
    expect(run.stdout).toContain(`report: ${report}`);
    expect(existsSync(report)).toBe(true);
  });
});

describe('ringleader command line', () => {
  it.each([
    [['demo', '--bogus'], /^ringleader: unknown option --bogus/],
    [['demo', '--agents', 'many'], /^ringleader: --agents must be an integer/],
    [['demo', '--agents', '0'], /^ringleader: --agents must be an integer/],
    [['demo', '--fanout', '2.5'], /^ringleader: --fanout must be an integer/],
    [['demo', '--duration-scale', '0'], /^ringleader: --duration-scale must be a number above 0/],
    [['demo', '--strategies', 'naive,fast'], /^ringleader: --strategies takes a comma-separated list/],
    [['demo', '--seed'], /^ringleader: --seed needs a value/],
    [['demo', '--json=yes'], /^ringleader: --json takes no value/],
    [['demo', 'extra'], /^ringleader: unexpected argument extra/],
    [['probe', '--verbose'], /^ringleader: unknown option --verbose/],
    [['bench', 'a', 'b'], /^ringleader: unexpected argument b/],
    [['launch'], /^ringleader: unknown command launch/],
  ])('%j exits 2 with a one-line reason', async (args, reason) => {
    const run = await cli(args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(reason);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([[['--help']], [['demo', '--help']], [['bench', '--help']], [['probe', '--help']], [['demo', '--agents', 'x', '-h']]])(
    '%j prints usage and exits 0', async (args) => {
      const run = await cli(args);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^usage: ringleader/);
    });

  it('probe reports the host and the backend an engine opened with auto really gets', async () => {
    const run = await cli(['probe', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ProbeJson;
    expect(report.kernel).not.toBe('');
    expect(report.cores).toBeGreaterThan(0);
    const { Engine } = await import('../../lib/engine/index.js');
    const engine = await Engine.open();
    try {
      expect(report.backend.name).toBe(engine.backend);
    } finally {
      await engine.close();
    }
    expect(report.native.loaded).toBe(nativeError === undefined);
    if (nativeError === undefined) {
      expect(report.ioUring).toBeDefined();
      if (report.ioUring!.usable) expect(report.ioUring!.opcodes).toContain('OPENAT');
      expect(report.pinning).toBeDefined();
    }
  });

  it('probe without the addon reports the js backend and why', async () => {
    const empty = join(dir, 'no-addon');
    const run = await cli(['probe', '--json'], { RINGLEADER_ADDON_PATH: empty });
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as ProbeJson;
    expect(report.native.loaded).toBe(false);
    expect(report.backend.name).toBe('js');
    expect(report.backend.reason).toMatch(/native addon not loaded/);
    expect(report.ioUring).toBeUndefined();
  });
});
