// Starts one process of a fleet (fleet-worker.mjs, on the built package in dist/) and
// collects its stdout lines; `report` is the JSON line it prints last. Shared by the fleet
// tests and the fleet soak.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./fleet-worker.mjs', import.meta.url));

export interface WorkerConfig {
  url: string;
  /** Where the tasks count themselves; default `url`. */
  probeUrl?: string;
  prefix: string;
  mode: 'count' | 'rate' | 'hold' | 'sleep';
  tasks: number;
  local: number;
  global: { concurrency?: number; rate?: { limit: number; interval: number } };
  taskMs?: number;
  leaseMs?: number;
}

export interface WorkerReport {
  done: number;
  failed: string[];
  fences: number[];
  admissions: number[];
  unhandled: string[];
}

export interface Worker {
  child: ChildProcess;
  lines: string[];
  report: Promise<WorkerReport>;
}

export function startWorker(cfg: WorkerConfig): Worker {
  const child = spawn(process.execPath, [WORKER, JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const parts = out.split('\n');
    out = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const report = new Promise<WorkerReport>((resolve, reject) => {
    child.once('exit', (code, signal) => {
      if (code !== 0) reject(new Error(`worker exited with ${code ?? signal}: ${err}`));
      else resolve(JSON.parse(lines.at(-1)!) as WorkerReport);
    });
  });
  report.catch(() => {});
  return { child, lines, report };
}
