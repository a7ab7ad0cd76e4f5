// Units this client started, by time, for one learned budget: how many fall within the
// provider's window, and how long until enough of them leave it. Entries older than the
// window are dropped as it is read, so the log holds at most one window of starts.

export class StartLog {
  private times: number[] = [];
  private units: number[] = [];
  private head = 0;
  private sum = 0;

  add(at: number, units: number): void {
    if (units <= 0) return;
    this.times.push(at);
    this.units.push(units);
    this.sum += units;
  }

  /** ms from `now` until `units` more fit under `capacity` within `span` ms; 0 when they fit now. */
  waitFor(units: number, capacity: number, span: number, now: number): number {
    this.expire(now - span);
    let over = this.sum + units - capacity;
    if (over <= 0) return 0;
    for (let i = this.head; i < this.times.length; i++) {
      over -= this.units[i]!;
      if (over <= 0) return this.times[i]! + span - now;
    }
    // Larger than the whole window: it waits only for the window to empty.
    return this.times.length > this.head ? this.times[this.times.length - 1]! + span - now : 0;
  }

  private expire(before: number): void {
    while (this.head < this.times.length && this.times[this.head]! <= before) {
      this.sum -= this.units[this.head]!;
      this.head++;
    }
    // Compact once the dead prefix dominates, so each entry is copied O(1) times.
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.units = this.units.slice(this.head);
      this.head = 0;
    }
  }
}
