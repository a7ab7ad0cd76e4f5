// One readFiles call's results, shared by every backend: values in path order (or one
// settled result per path), `next` path to start, and a promise that settles exactly
// once - with every result, or with the first error when the call does not settle.
export class ReadJob {
  /** Index of the first path not yet started or submitted. */
  next = 0;
  /** Paths without a result yet. */
  remaining: number;
  /** The promise has settled; later results are ignored. */
  done = false;
  private readonly values: Buffer[];
  private readonly settled: PromiseSettledResult<Buffer>[] | undefined;

  constructor(
    readonly paths: readonly string[],
    settle: boolean,
    private readonly resolve: (value: Buffer[] | PromiseSettledResult<Buffer>[]) => void,
    private readonly reject: (reason: unknown) => void,
  ) {
    this.remaining = paths.length;
    this.values = settle ? [] : new Array<Buffer>(paths.length);
    this.settled = settle ? new Array<PromiseSettledResult<Buffer>>(paths.length) : undefined;
  }

  /** Records path `index`'s contents; count it with finished(). */
  put(index: number, value: Buffer): void {
    if (this.settled !== undefined) this.settled[index] = { status: 'fulfilled', value };
    else this.values[index] = value;
  }

  /**
   * Records path `index`'s failure; count it with finished(). Without settle the whole
   * call rejects at once and this returns false: stop recording.
   */
  putError(index: number, reason: unknown): boolean {
    if (this.settled === undefined) {
      this.fail(reason);
      return false;
    }
    this.settled[index] = { status: 'rejected', reason };
    return true;
  }

  /** `count` more paths have their results; the last one settles the promise. */
  finished(count: number): void {
    this.remaining -= count;
    if (this.remaining === 0 && !this.done) {
      this.done = true;
      this.resolve(this.settled ?? this.values);
    }
  }

  /** One path's outcome: its contents, or (value undefined) its failure. */
  settleOne(index: number, value: Buffer | undefined, reason?: unknown): void {
    if (this.done) return;
    if (value !== undefined) this.put(index, value);
    else if (!this.putError(index, reason)) return;
    this.finished(1);
  }

  /** Fails every path not yet started with reason(): the whole call, or each one under settle. */
  drop(reason: () => unknown): void {
    if (this.done) return;
    if (this.settled === undefined) {
      this.fail(reason());
      return;
    }
    for (let i = this.next; i < this.paths.length; i++) this.settled[i] = { status: 'rejected', reason: reason() };
    const dropped = this.paths.length - this.next;
    this.next = this.paths.length;
    this.finished(dropped);
  }

  private fail(reason: unknown): void {
    this.done = true;
    this.reject(reason);
  }
}
