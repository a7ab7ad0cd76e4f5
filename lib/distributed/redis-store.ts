// RedisStore: limits shared by every process that uses the same Redis and prefix. It owns
// the script, watches the client's connection (an outage is an 'error' event and a
// StoreUnavailableError, never a crash) and keeps one lazy pub/sub connection for releases.

import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { ClosedError, StoreUnavailableError } from '../errors.js';
import type { Gate, GateStore, GlobalOptions } from '../scheduler/gate.js';
import { clearTimer, setTimer, type TimerHandle } from '../timer.js';
import { checkInteger, checkNumber, checkObject, describe } from '../validate.js';
import { RedisGate, type GateHost } from './redis-gate.js';
import { SYNC_SCRIPT } from './sync-script.js';

export interface RedisStoreOptions {
  /** Namespace of the shared limits: processes share budgets only under the same prefix. Default 'ringleader'. */
  prefix?: string;
  /** Lease TTL in ms (at least 100): a crashed process's slots come back within this. Default 10_000. */
  leaseMs?: number;
  /** How often running attempts renew their leases, in ms; below leaseMs. Default leaseMs / 3. */
  renewEveryMs?: number;
}

// Versioned: a client shared with an older ringleader keeps each version's script apart.
const COMMAND = 'ringleaderGateSyncV3';
// The release subscription outlives its last waiter briefly, so bursts do not churn connections.
const SUBSCRIBER_LINGER_MS = 2000;

type SyncCommand = Record<typeof COMMAND, (...args: Array<string | number>) => Promise<number[]>>;

/**
 * Shared limits on Redis (an ioredis client). Pass it as a Scheduler's `store` with
 * `global` limits; every process using the same Redis and `prefix` shares one budget, so
 * give each budget its own prefix (stores may share a client).
 *
 * - Concurrency and perKey slots are leases of `leaseMs`, renewed while attempts run; a
 *   crashed process's slots come back within one lease. Each admission takes a fence from
 *   a counter seeded from Redis's clock, so fences keep rising even after a restart that
 *   lost the counter. Gates refused a slot queue in Redis by waiting time, so a busy
 *   process cannot keep re-taking the slots it frees while others wait.
 * - Rate windows are exact sliding logs on Redis's clock: at most `limit` admissions (or
 *   tokens) in any `interval`, with no extra burst; all of it may come at once unless
 *   `burst` is below `limit`, which also spreads admissions (GCRA). A window is shared by
 *   the gates with the same interval and cost.
 * - Unreachable Redis: attempts wait (StoreUnavailableError at their timeout) unless
 *   `failOpen`; the store emits 'error' (a StoreUnavailableError) once per outage, only if
 *   someone listens. It listens for the client's 'error' events itself, so an outage is
 *   never an unhandled error. A `lazyConnect` client is connected on first use.
 *
 * The client stays the caller's: `close()` does not quit it.
 */
export class RedisStore extends EventEmitter implements GateStore {
  /** Lease TTL in ms. */
  readonly leaseMs: number;
  /** Renewal period of held leases in ms. */
  readonly renewEveryMs: number;

  // What gates see of the store; kept off the public surface.
  private readonly host: GateHost;

  private readonly gates = new Set<RedisGate>();
  private readonly listening = new Set<RedisGate>();
  private subscriber: Redis | undefined;
  private lingerTimer: TimerHandle | undefined;
  private lastError: Error | undefined;
  private callFailure: Error | undefined;
  private isDown = false;
  private closed = false;
  private readonly onClientError = (err: Error): void => {
    this.lastError = err;
  };
  private readonly onClientReady = (): void => {
    this.lastError = undefined;
    this.callFailure = undefined;
    this.isDown = false;
    for (const gate of this.gates) gate.onReady();
  };
  private readonly onClientClose = (): void => {
    this.markDown(this.lastError);
  };

  constructor(private readonly redis: Redis, options: RedisStoreOptions = {}) {
    super();
    const client = redis as unknown as Record<string, unknown> | null;
    if (typeof client !== 'object' || client === null || typeof client.defineCommand !== 'function' ||
        typeof client.duplicate !== 'function' || typeof client.status !== 'string' || typeof client.on !== 'function') {
      throw new TypeError(`redis must be an ioredis client (new Redis(url)), got ${describe(redis)}`);
    }
    if (client.isCluster === true) throw new TypeError('RedisStore needs a standalone ioredis client; Cluster is not supported');
    checkObject('options', options);
    const prefix = options.prefix ?? 'ringleader';
    if (typeof prefix !== 'string' || prefix === '') throw new TypeError(`prefix must be a non-empty string, got ${describe(prefix)}`);
    // Below 100 ms a lease lapses on an ordinary GC pause or a busy Redis, and renewals turn into a hot loop.
    this.leaseMs = checkInteger('leaseMs', options.leaseMs ?? 10_000, 100);
    this.renewEveryMs = checkNumber('renewEveryMs', options.renewEveryMs ?? this.leaseMs / 3, 1);
    if (this.renewEveryMs >= this.leaseMs) {
      throw new RangeError(`renewEveryMs (${this.renewEveryMs}) must be below leaseMs (${this.leaseMs}), or leases lapse while held`);
    }
    // A hash tag keeps every key of one prefix in one slot, as a script's keys must be.
    const keyPrefix = `{${prefix}}:`;
    this.host = {
      leaseMs: this.leaseMs,
      renewEveryMs: this.renewEveryMs,
      keyPrefix,
      baseKeys: ['holders', 'fence', 'waiting', 'waiting:alive'].map((name) => keyPrefix + name),
      // Channels are not prefixed by the client's keyPrefix; keys are. Both go in the name.
      channel: `${redis.options.keyPrefix ?? ''}${keyPrefix}released`,
      ready: () => this.ready(),
      outage: () => this.outage(),
      failing: () => this.failing(),
      sync: (keys, args) => (this.redis as unknown as SyncCommand)[COMMAND](keys.length, ...keys, ...args),
      callFailed: (err) => this.callFailed(err),
      callSucceeded: () => {
        this.callFailure = undefined;
        this.isDown = false;
      },
      listen: (gate) => this.listen(gate),
      unlisten: (gate) => this.unlisten(gate),
      forget: (gate) => {
        this.gates.delete(gate);
        this.unlisten(gate);
      },
    };
    if (typeof client[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: SYNC_SCRIPT });
    redis.on('error', this.onClientError);
    redis.on('ready', this.onClientReady);
    redis.on('close', this.onClientClose);
  }

  /** A gate for a Scheduler's `global` limits. Validates them: TypeError/RangeError on bad values. */
  gate(options: GlobalOptions): Gate {
    if (this.closed) throw new ClosedError('store is closed');
    validateGlobal(options);
    const gate = new RedisGate(this.host, options);
    this.gates.add(gate);
    return gate;
  }

  /** Gives back every lease held by this process, stops timers and the subscription. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.gates].map((gate) => gate.close()));
    this.closeSubscriber();
    this.redis.off('ready', this.onClientReady);
    this.redis.off('close', this.onClientClose);
    this.redis.off('error', this.onClientError);
  }

  private ready(): boolean {
    if (this.redis.status === 'wait') this.redis.connect().catch(() => this.markDown(this.lastError));
    return this.redis.status === 'ready';
  }

  private outage(): Error | undefined {
    if (this.redis.status !== 'ready' && this.redis.status !== 'wait') {
      return new StoreUnavailableError(`redis connection is ${this.redis.status}`, { cause: this.lastError });
    }
    return this.callFailure;
  }

  private failing(): boolean {
    const status = this.redis.status;
    return this.isDown || (status !== 'ready' && status !== 'wait' && status !== 'connecting' && status !== 'connect');
  }

  private callFailed(err: unknown): void {
    const cause = err instanceof Error ? err : new Error(String(err));
    this.callFailure = new StoreUnavailableError(`redis call failed: ${cause.message}`, { cause });
    this.markDown(cause);
  }

  private listen(gate: RedisGate): void {
    if (this.closed) return;
    this.listening.add(gate);
    clearTimer(this.lingerTimer);
    this.lingerTimer = undefined;
    if (this.subscriber === undefined) this.openSubscriber();
  }

  private unlisten(gate: RedisGate): void {
    if (!this.listening.delete(gate) || this.listening.size > 0 || this.subscriber === undefined) return;
    this.lingerTimer = setTimer(() => {
      this.lingerTimer = undefined;
      this.closeSubscriber();
    }, SUBSCRIBER_LINGER_MS);
    this.lingerTimer?.unref();
  }

  private openSubscriber(): void {
    // Its own options: a subscribe must wait out an outage rather than fail after N retries.
    const sub = this.redis.duplicate({ lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResubscribe: true });
    sub.on('error', () => {});
    sub.on('message', () => {
      for (const gate of this.listening) gate.onRelease();
    });
    // Releases published while the subscription was down were missed: look again.
    sub.on('ready', () => {
      for (const gate of this.listening) gate.onRelease();
    });
    sub.subscribe(this.host.channel).catch(() => {});
    this.subscriber = sub;
  }

  private closeSubscriber(): void {
    clearTimer(this.lingerTimer);
    this.lingerTimer = undefined;
    const sub = this.subscriber;
    if (sub === undefined) return;
    this.subscriber = undefined;
    sub.removeAllListeners('message');
    sub.removeAllListeners('ready');
    sub.disconnect();
  }

  private markDown(cause: Error | undefined): void {
    if (this.isDown || this.closed) return;
    this.isDown = true;
    for (const gate of this.gates) gate.onDown();
    if (this.listenerCount('error') > 0) {
      this.emit('error', new StoreUnavailableError(`redis is unavailable${cause ? `: ${cause.message}` : ''}`, { cause }));
    }
  }
}

function validateGlobal(options: GlobalOptions): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`global must be an object, got ${describe(options)}`);
  if (options.concurrency !== undefined) checkInteger('global.concurrency', options.concurrency, 1);
  if (options.perKey !== undefined) checkInteger('global.perKey', options.perKey, 1);
  if (options.failOpen !== undefined && typeof options.failOpen !== 'boolean') {
    throw new TypeError(`global.failOpen must be a boolean, got ${describe(options.failOpen)}`);
  }
  if (options.rate === undefined) return;
  const list: unknown[] = Array.isArray(options.rate) ? options.rate : [options.rate];
  if (list.length === 0) throw new RangeError('global.rate: give at least one window');
  list.forEach((window, i) => {
    const name = `global.rate[${i}]`;
    if (typeof window !== 'object' || window === null) throw new TypeError(`${name} must be an object, got ${describe(window)}`);
    const { limit, interval, burst, cost } = window as Record<string, unknown>;
    checkNumber(`${name}.limit`, limit, 0, { exclusive: true });
    checkNumber(`${name}.interval`, interval, 0, { exclusive: true });
    if (burst !== undefined) checkNumber(`${name}.burst`, burst, 1);
    if (cost !== undefined && cost !== 'requests' && cost !== 'tokens') {
      throw new TypeError(`${name}.cost must be 'requests' or 'tokens', got ${describe(cost)}`);
    }
  });
}
