// Live progress of the strategy that is running: one line per strategy, redrawn in place
// on a terminal, and plain periodic lines when the stream is a pipe or a file (CI logs).

import type { Snapshot } from './run-strategy.js';

const BAR_WIDTH = 20;
const TTY_REDRAW_MS = 100;
const PLAIN_EVERY_MS = 2_000;

export class Progress {
  private readonly tty: boolean;
  private strategy = '';
  private total = 0;
  private lastDraw = 0;
  private last: Snapshot | undefined;

  constructor(private readonly stream: NodeJS.WriteStream, private readonly width: number) {
    this.tty = stream.isTTY === true;
  }

  begin(strategy: string, total: number): void {
    this.strategy = strategy;
    this.total = total;
    // A terminal shows the bar at once; a log gets its first line after one period.
    this.lastDraw = this.tty ? -Infinity : 0;
    this.last = undefined;
    if (!this.tty) this.stream.write(`${strategy.padEnd(this.width)} started: ${total} agents\n`);
  }

  update(snapshot: Snapshot): void {
    this.last = snapshot;
    const every = this.tty ? TTY_REDRAW_MS : PLAIN_EVERY_MS;
    if (snapshot.elapsedMs - this.lastDraw < every) return;
    this.lastDraw = snapshot.elapsedMs;
    this.draw(snapshot);
  }

  /** Draws the final state and leaves the line in place. */
  end(): void {
    if (this.last !== undefined) this.draw(this.last);
    if (this.tty) this.stream.write('\n');
  }

  private draw(s: Snapshot): void {
    const settled = s.done + s.failed;
    const filled = this.total === 0 ? BAR_WIDTH : Math.round((settled / this.total) * BAR_WIDTH);
    const line = `${this.strategy.padEnd(this.width)} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` +
      `${settled}/${this.total}  done ${s.done}  failed ${s.failed}  in flight ${s.inFlight}  429s ${s.rateLimited}  ` +
      `${(s.elapsedMs / 1000).toFixed(1)} s`;
    if (!this.tty) {
      this.stream.write(`${line}\n`);
      return;
    }
    // Clipped to the terminal: a wrapped line could not be redrawn in place.
    const columns = Math.max(20, (this.stream.columns || 80) - 1);
    this.stream.write(`\r\x1b[2K${line.slice(0, columns)}`);
  }
}
