// What each agent of a demo run spent its time on, as bars on a per-agent row: waiting in
// a queue, for a rate window, behind a paused key, sleeping before a retry, or running.
// Recorded in the strategy's child process and drawn by the report (timeline-svg.ts).

export const TIMELINE_PHASES = ['queue', 'rate', 'pause', 'retry', 'run'] as const;
export type TimelinePhase = (typeof TIMELINE_PHASES)[number];

/** Bars as flat quadruples (agent, phase index, from ms, to ms) since the strategy started: compact over IPC. */
export interface Timeline {
  bars: number[];
  /** Bars left out once the bound was reached. */
  dropped: number;
}

// 200 agents × 8 steps × a few bars each fit many times over; a huge run keeps its first bars.
const MAX_BARS = 200_000;

export class TimelineRecorder {
  private readonly bars: number[] = [];
  private dropped = 0;

  /** `t0`: the strategy's start on performance.now()'s clock (set again as it really starts); bars are relative to it. */
  constructor(public t0: number) {}

  add(agent: number, phase: TimelinePhase, from: number, to: number): void {
    if (!(to > from)) return;
    if (this.bars.length >= MAX_BARS * 4) {
      this.dropped++;
      return;
    }
    this.bars.push(agent, TIMELINE_PHASES.indexOf(phase), round(from - this.t0), round(to - this.t0));
  }

  toJSON(): Timeline {
    return { bars: this.bars, dropped: this.dropped };
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
