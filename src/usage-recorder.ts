import type { Storage } from './storage/storage.js';

/**
 * Counts API requests per grant for the Connected Apps page. Counting is on the hot
 * path of every API call, so hits are summed in memory and written in one batch every
 * second (and at shutdown) instead of one UPDATE per request. A crash loses at most
 * one second of counts, never a token or a grant.
 */
export class UsageRecorder {
  private pending = new Map<number, { count: number; lastUsedAt: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.intervalMs);
    this.timer.unref();
  }

  record(grantId: number, at: number): void {
    const u = this.pending.get(grantId);
    if (u) {
      u.count += 1;
      if (at > u.lastUsedAt) u.lastUsedAt = at;
    } else {
      this.pending.set(grantId, { count: 1, lastUsedAt: at });
    }
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.storage.recordGrantUsage(batch);
    } catch (err) {
      // Put the counts back so a database outage delays them instead of losing them.
      for (const [id, u] of batch) {
        const cur = this.pending.get(id);
        if (cur) {
          cur.count += u.count;
          cur.lastUsedAt = Math.max(cur.lastUsedAt, u.lastUsedAt);
        } else this.pending.set(id, u);
      }
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
