// The mock provider the demo runs against, set up like a real one: published RPM and TPM
// windows, a cap on requests at once, long-tailed latency, a few 500/503s. Every duration
// (latencies, the window's minute, 503 advice) shrinks with --duration-scale.

import type { MockProviderOptions } from './mock-provider.js';
import type { ProviderLimits } from './demo-types.js';

const PUBLISHED = { concurrency: 16, rpm: 600, tpm: 800_000 };
const MINUTE_MS = 60_000;

export const DEMO_LATENCY = { latencyMs: 600, latencySigma: 0.5, tailRate: 0.03, tailFactor: 10, errorRate: 0.01 };

export function demoLimits(durationScale: number): ProviderLimits {
  return { ...PUBLISHED, windowMs: MINUTE_MS * durationScale };
}

export function demoProviderOptions(durationScale: number, seed: number): MockProviderOptions {
  const limits = demoLimits(durationScale);
  return {
    concurrency: limits.concurrency,
    rpm: limits.rpm,
    tpm: limits.tpm,
    windowMs: limits.windowMs,
    ...DEMO_LATENCY,
    durationScale,
    seed,
  };
}
