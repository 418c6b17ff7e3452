/**
 * Fixed-window counters shared by every limit keyfob enforces (API per-second limits,
 * sign-in and PIN guessing). The memory implementation holds per process; the Redis one
 * (redis-limiter.ts) holds across instances.
 */
export interface RateResult {
  allowed: boolean;
  /** Hits left in this window after this one. */
  remaining: number;
  /** Milliseconds until the window resets. */
  resetMs: number;
}

export interface RateLimiter {
  /** Counts one hit on key; allowed while the count within the window is at most limit. */
  hit(key: string, limit: number, windowMs: number): Promise<RateResult>;
  /** Optional: hit, answered at once, for a limiter that counts in this process (no promise on the hot path). */
  hitNow?(key: string, limit: number, windowMs: number): RateResult;
  /** Reads the count without adding to it. */
  peek(key: string, windowMs: number): Promise<number>;
  /** Optional: peek, answered at once, for a limiter that counts in this process. */
  peekNow?(key: string, windowMs: number): number;
  /** Forgets a key (e.g. after a successful sign-in). */
  reset(key: string): Promise<void>;
  close(): Promise<void>;
}

/** Per-process counters. Old windows are swept lazily so memory stays bounded by live keys. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number; windowMs: number }>();
  private sweptAt = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private sweep(t: number): void {
    if (t - this.sweptAt < 10_000) return;
    this.sweptAt = t;
    for (const [k, w] of this.windows) if (t - w.start >= w.windowMs) this.windows.delete(k);
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateResult> {
    return this.hitNow(key, limit, windowMs);
  }

  hitNow(key: string, limit: number, windowMs: number): RateResult {
    const t = this.now();
    this.sweep(t);
    let w = this.windows.get(key);
    if (!w || t - w.start >= windowMs) {
      w = { start: t - (t % windowMs), count: 0, windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { allowed: w.count <= limit, remaining: Math.max(0, limit - w.count), resetMs: w.start + windowMs - t };
  }

  async peek(key: string, windowMs: number): Promise<number> {
    return this.peekNow(key, windowMs);
  }

  peekNow(key: string, windowMs: number): number {
    const w = this.windows.get(key);
    if (!w || this.now() - w.start >= windowMs) return 0;
    return w.count;
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  async close(): Promise<void> {
    this.windows.clear();
  }
}
