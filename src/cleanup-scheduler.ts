import type { FastifyBaseLogger } from 'fastify';
import type { CleanupCounts, Storage } from './storage/storage.js';
import type { Clock } from './util/clock.js';

/** A storage that can sweep only when no other instance is sweeping (PostgreSQL: an advisory lock). */
interface ExclusiveCleanup {
  tryCleanup(now: number): Promise<CleanupCounts | null>;
}

function hasExclusiveCleanup(storage: Storage): storage is Storage & ExclusiveCleanup {
  return typeof (storage as Partial<ExclusiveCleanup>).tryCleanup === 'function';
}

export interface CleanupScheduler {
  /**
   * One sweep now. Returns what was removed, or null when the sweep was skipped because
   * another instance (or an earlier sweep of this one) is still sweeping.
   */
  runOnce(): Promise<CleanupCounts | null>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Removes expired authorization codes, PINs and web sessions every intervalMs
 * (KEYFOB_CLEANUP_INTERVAL; 0 = never, e.g. when `keyfob cleanup` runs from cron).
 * Expired rows are already refused where they are read, so the sweep only keeps tables
 * small. With several instances on one PostgreSQL database, each instance's timer fires,
 * but only the one that takes the advisory lock sweeps; the rest skip that round
 * (docs/decisions/0023). On SQLite there is one writer anyway.
 */
export function startCleanupScheduler(opts: { storage: Storage; clock: Clock; intervalMs: number; log?: () => FastifyBaseLogger | undefined }): CleanupScheduler {
  const { storage, clock } = opts;
  let running: Promise<CleanupCounts | null> | null = null;

  const sweep = async (): Promise<CleanupCounts | null> => {
    const now = clock.now();
    const counts = hasExclusiveCleanup(storage) ? await storage.tryCleanup(now) : await storage.cleanup(now);
    if (counts && counts.authCodes + counts.pins + counts.sessions > 0) opts.log?.()?.info({ removed: counts }, 'cleanup removed expired records');
    return counts;
  };

  const runOnce = (): Promise<CleanupCounts | null> => {
    if (running) return Promise.resolve(null);
    running = sweep().finally(() => {
      running = null;
    });
    return running;
  };

  let timer: NodeJS.Timeout | null = null;
  if (opts.intervalMs > 0) {
    timer = setInterval(() => {
      // A failed sweep (database away) is retried at the next tick; it never stops the server.
      runOnce().catch((err: unknown) => opts.log?.()?.warn({ err }, 'cleanup failed; will retry'));
    }, opts.intervalMs);
    timer.unref();
  }

  return {
    runOnce,
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      if (running) await running.catch(() => undefined);
    },
  };
}
