// `ringleader demo`: agents against a local mock LLM provider under each strategy in turn
// (naive, p-limit with retries, ringleader), with live progress, a table of what each did,
// ringleader's ratio to each peer, and an HTML report with a chart per strategy.

import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs, UsageError } from './args.js';
import { chromeTrace, otlpTrace } from './trace-file.js';
import { createCorpus } from './corpus.js';
import { DEMO_LATENCY, demoLimits } from './demo-provider.js';
import { STRATEGY_NAMES, type StrategyName, type StrategyRecord } from './demo-types.js';
import { Progress } from './progress.js';
import { renderReport } from './report-html.js';
import { runStrategy } from './run-strategy.js';
import { STRATEGIES } from './strategies.js';
import { RATIO_NOTE, summarize } from './summary.js';
import { textTable } from './text-table.js';
import { llmCallsPerAgent } from './workload.js';

const DEFAULTS = { agents: 200, fanout: 6, durationScale: 0.2, seed: 1 };
// Rough upper bound of tokens per LLM call in the workload, to size the deadline.
const TOKENS_PER_CALL = 2_500;
const MAX_CORPUS_FILES = 64;

const SPEC = {
  'agents': { kind: 'integer', min: 1, max: 5_000 },
  'fanout': { kind: 'integer', min: 1, max: 32 },
  'strategies': { kind: 'list', choices: STRATEGY_NAMES },
  'duration-scale': { kind: 'number', min: 0, max: 10, exclusiveMin: true },
  'json': { kind: 'boolean' },
  'seed': { kind: 'integer', min: 0, max: 2 ** 32 - 1 },
  'report': { kind: 'string' },
  'trace': { kind: 'string' },
  'trace-format': { kind: 'choice', choices: ['chrome', 'otlp'] },
} as const;

export const DEMO_HELP = `usage: ringleader demo [options]

Runs N agents (plan → K tool calls → synthesize) against a mock LLM provider on 127.0.0.1
under each strategy in turn, then prints a table and writes an HTML report with charts.

options:
  --agents N             agents to run (default ${DEFAULTS.agents}, at most ${SPEC.agents.max})
  --fanout K             tool calls per agent; every third reads a file (default ${DEFAULTS.fanout})
  --strategies a,b       which to run, in order: ${STRATEGY_NAMES.join(', ')} (default all)
  --duration-scale X     multiplies every simulated duration: latencies, the provider's minute,
                         backoffs (default ${DEFAULTS.durationScale}: about a minute for the whole demo; 1 is real time)
  --seed S               seed of the mock provider's latencies and errors (default ${DEFAULTS.seed})
  --report PATH          where to write the HTML report (default ./ringleader-report.html)
  --trace FILE           also write every agent's queue waits, rate waits, pauses, retry backoffs and
                         runs as a trace: Chrome trace event JSON (open in ui.perfetto.dev or
                         chrome://tracing), or OTLP-JSON with --trace-format otlp
  --trace-format F       chrome (default) or otlp
  --json                 print one JSON document on stdout; progress goes to stderr
  --help                 print this text`;

export async function demoCommand(args: readonly string[]): Promise<number> {
  const { flags, help } = parseArgs(args, SPEC);
  if (help) {
    console.log(DEMO_HELP);
    return 0;
  }
  const agents = flags.agents ?? DEFAULTS.agents;
  const fanout = flags.fanout ?? DEFAULTS.fanout;
  const durationScale = flags['duration-scale'] ?? DEFAULTS.durationScale;
  const seed = flags.seed ?? DEFAULTS.seed;
  const json = flags.json === true;
  const reportPath = resolve(flags.report ?? 'ringleader-report.html');
  const tracePath = flags.trace === undefined ? undefined : resolve(flags.trace);
  if (flags['trace-format'] !== undefined && tracePath === undefined) throw new UsageError('--trace-format needs --trace FILE');
  const requested = (flags.strategies ?? [...STRATEGY_NAMES]) as StrategyName[];
  const skipped = requested.flatMap((strategy) => {
    const reason = STRATEGIES[strategy].unavailable();
    return reason === undefined ? [] : [{ strategy, reason }];
  });
  const names = requested.filter((s) => !skipped.some((k) => k.strategy === s));

  const text = json ? process.stderr : process.stdout;
  const say = (line = ''): void => {
    text.write(`${line}\n`);
  };
  const limits = demoLimits(durationScale);
  const calls = llmCallsPerAgent(fanout);
  const reads = fanout - (calls - 2);
  const about = [
    `${agents} agents, each: plan (1 LLM call) → ${fanout} tool calls (${plural(calls - 2, 'LLM call')}, ${plural(reads, 'file read')}) → ` +
      `synthesize (1 LLM call); ${agents * calls} LLM calls and ${agents * reads} file reads in all.`,
    `Mock provider on 127.0.0.1 (a fresh one per strategy, seed ${seed}): ${limits.concurrency} requests at once, ` +
      `${limits.rpm} requests and ${limits.tpm.toLocaleString('en-US')} tokens per minute, median latency ` +
      `${fmtMs(DEMO_LATENCY.latencyMs * durationScale)} (${DEMO_LATENCY.tailRate * 100}% of answers ` +
      `${DEMO_LATENCY.tailFactor}× slower), ${DEMO_LATENCY.errorRate * 100}% 500/503.`,
    `Duration scale ${durationScale}: the provider's minute lasts ${fmtMs(limits.windowMs)}; latencies and backoffs shrink to match.`,
    `node ${process.version} on ${process.platform}/${process.arch}.`,
  ];
  for (const line of about) say(line);
  for (const s of skipped) say(`${s.strategy} skipped: ${s.reason}`);
  const width = Math.max(...requested.map((s) => s.length));
  say('strategies:');
  for (const s of names) say(`  ${s.padEnd(width)}  ${STRATEGIES[s].describe(limits)}`);

  const stop = new AbortController();
  const onSigint = (): void => stop.abort(new Error('interrupted'));
  process.once('SIGINT', onSigint);
  const corpus = await createCorpus(Math.min(MAX_CORPUS_FILES, agents * Math.max(reads, 1)), seed);
  say(`corpus: ${corpus.files.length} files, ${(corpus.bytes / 2 ** 20).toFixed(1)} MiB in ${corpus.dir} (removed at the end)`);
  say();
  const records: StrategyRecord[] = [];
  try {
    const minutes = Math.max((agents * calls) / limits.rpm, (agents * calls * TOKENS_PER_CALL) / limits.tpm) + 1;
    const deadlineMs = Math.ceil(30_000 + 6 * minutes * limits.windowMs);
    const progress = new Progress(text, width);
    for (const strategy of names) {
      progress.begin(strategy, agents);
      const config = { strategy, agents, fanout, files: corpus.files, durationScale, limits, deadlineMs };
      records.push(await runStrategy(config, seed, (s) => progress.update(s), stop.signal));
      progress.end();
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
    say();
    say('interrupted');
    return 130;
  } finally {
    process.off('SIGINT', onSigint);
    await corpus.remove();
  }

  const results = records.map((r) => r.result);
  const summary = summarize(results);
  say();
  say(textTable(summary.results));
  if (results.some((r) => r.cutAtDeadline)) say('* cut at the deadline: agents unfinished then count as failed');
  for (const r of results) if (r.learned !== undefined) say(`${r.strategy}: ${r.learned}`);
  if (summary.ratios.rows.length > 0) {
    say();
    say(textTable(summary.ratios));
    say(RATIO_NOTE);
  }
  const html = renderReport({
    about, limits, skipped, generatedAt: new Date(), agents,
    records: records.map((r) => ({ ...r, description: STRATEGIES[r.result.strategy].describe(limits) })),
  });
  await writeFile(reportPath, html);
  say();
  say(`report: ${reportPath}`);
  if (tracePath !== undefined) {
    const format = flags['trace-format'] ?? 'chrome';
    await writeFile(tracePath, JSON.stringify(format === 'otlp' ? otlpTrace(records) : chromeTrace(records)));
    say(`trace (${format === 'otlp' ? 'OTLP-JSON' : 'Chrome trace events, for ui.perfetto.dev'}): ${tracePath}`);
  }
  if (json) {
    process.stdout.write(`${JSON.stringify({
      agents, fanout, durationScale, seed, node: process.version,
      provider: { ...limits, ...DEMO_LATENCY },
      strategies: results, skipped, report: reportPath, trace: tracePath,
    })}\n`);
  }
  return 0;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Number(ms.toPrecision(3))} ms`;
}
