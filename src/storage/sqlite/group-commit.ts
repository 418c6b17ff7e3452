import type Database from 'better-sqlite3';

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/**
 * Returned by an operation (or its recover) whose writes must be kept although its caller
 * is to receive an error: the promise rejects with `err` once the transaction committed.
 */
export class FailAfterCommit {
  constructor(readonly err: unknown) {}
}

interface Pending {
  op: () => unknown;
  recover: ((err: unknown) => unknown) | undefined;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for the hot write paths (redeeming or consuming a code, upserting a grant,
 * recording a PIN poll): the
 * operations submitted during one event-loop turn run together in one write transaction,
 * so a busy server commits once per turn instead of once per operation. The commit is
 * most of a small write's cost (bench/README.md). A batch runs first as it is; only when
 * one of its operations throws is it rolled back and run again with each operation inside
 * its own savepoint (see submit).
 *
 * Nothing about the operations changes: each still runs whole or not at all (a failing one
 * rolls back its savepoint only and rejects alone, or is replaced by the recover it was
 * submitted with), each single-use DELETE ... RETURNING still has exactly one winner, and
 * every caller's promise settles only after the transaction holding its write has committed.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly savepoint: (op: () => unknown) => unknown;
  /** The outer transaction, made once: building a better-sqlite3 transaction function per flush showed in profiles. */
  private readonly runBatch: Database.Transaction<(batch: Pending[], outcomes: Outcome[]) => void>;
  /** The same without a savepoint per operation: tried first (see flush). */
  private readonly runBatchOptimistically: Database.Transaction<(batch: Pending[], outcomes: Outcome[]) => void>;

  /**
   * `around` wraps each batch's transaction (the storage uses it to tell its read cache
   * what a batch may have changed).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly around: <T>(run: () => T) => T = (run) => run(),
  ) {
    // Called inside the outer transaction, a better-sqlite3 transaction function is a savepoint.
    this.savepoint = db.transaction((op: () => unknown) => op());
    this.runBatchOptimistically = db.transaction((batch: Pending[], outcomes: Outcome[]) => {
      for (const item of batch) outcomes.push({ ok: true, value: item.op() });
    });
    this.runBatch = db.transaction((batch: Pending[], outcomes: Outcome[]) => {
      for (const item of batch) {
        try {
          outcomes.push({ ok: true, value: this.savepoint(item.op) });
        } catch (err) {
          outcomes.push(this.recovered(item, err));
        }
      }
    });
  }

  /**
   * After `op` failed and its savepoint was rolled back, `recover` runs in a savepoint of
   * its own, in the same transaction, and settles the promise instead: so an operation can
   * keep part of its work (a consumed code) without paying for a nested savepoint when
   * nothing fails. Not when the failure ended the whole transaction (SQLite rolls back by
   * itself on some I/O errors): then there is nothing left to recover into.
   */
  private recovered(item: Pending, err: unknown): Outcome {
    if (item.recover === undefined || !this.db.inTransaction) return { ok: false, err };
    const recover = item.recover;
    try {
      return { ok: true, value: this.savepoint(() => recover(err)) };
    } catch (again) {
      return { ok: false, err: again };
    }
  }

  /**
   * Runs `op` in the next batch; `recover(err)`, if given, replaces a failed `op` (see
   * recovered). Either may return a FailAfterCommit.
   *
   * `op` may run twice: a batch runs first without savepoints, and when any of its
   * operations throws, the whole transaction is rolled back and the batch runs again with
   * them. So an operation must change nothing outside the transaction that running it
   * again would not set right (writing the same values again, or replacing what its first
   * run computed), and must throw only on failure: a refusal is a returned value.
   */
  submit<T>(op: () => T | FailAfterCommit, recover?: (err: unknown) => T | FailAfterCommit): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, recover, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Runs everything queued now (also before closing the connection). */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const outcomes: Outcome[] = [];
    try {
      // Nearly always no operation throws (an expected refusal is a returned value, such as
      // FailAfterCommit), and then a savepoint per operation is two statements for nothing.
      this.around(() => this.runBatchOptimistically.immediate(batch, outcomes));
    } catch (err) {
      if (outcomes.length === batch.length) {
        // Every operation ran: the commit itself failed, and nothing in the batch happened.
        for (const item of batch) item.reject(err);
        return;
      }
      // An operation threw and the whole transaction was rolled back: run the batch again,
      // each operation in its own savepoint, so the failing one rolls back alone.
      outcomes.length = 0;
      try {
        this.around(() => this.runBatch.immediate(batch, outcomes));
      } catch (again) {
        for (const item of batch) item.reject(again);
        return;
      }
    }
    batch.forEach((item, i) => {
      const o = outcomes[i]!;
      if (!o.ok) item.reject(o.err);
      else if (o.value instanceof FailAfterCommit) item.reject(o.value.err);
      else item.resolve(o.value);
    });
  }
}
