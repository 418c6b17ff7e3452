import type Database from 'better-sqlite3';
import { currentPollPhase } from '../../util/poll-phase.js';

/** Entries kept per kind before the cache starts over: bounds memory, not correctness. */
const MAX_ENTRIES = 10_000;

/**
 * Caches reads on one SQLite connection for exactly as long as the database is unchanged,
 * so the hot lookups (a bearer token, then its user, on every API call; the app on every
 * token request) skip the query
 * without ever answering from stale data (docs/decisions/0050).
 *
 * "Unchanged" is proven before cached reads:
 * - `PRAGMA data_version` changes when any other connection, in this process or in any
 *   other instance sharing the database file, has committed since this connection last
 *   asked (https://sqlite.org/pragma.html#pragma_data_version). It opens a read
 *   transaction (about 1 µs), so it is asked once per event-loop poll phase in which
 *   requests arrived (and every 128 requests within one), and before every read anywhere
 *   else (docs/decisions/0084): every
 *   request of a poll phase was sent before the phase began, so a commit that finished
 *   before a request was sent is seen by that request;
 * - this connection's own writes, which data_version does not report, are told by the
 *   storage as it takes each statement that may change rows (`noteWrite`, before the
 *   statement runs; decision 0096): this instance's own revoke is seen by the very next
 *   lookup, even in the same poll phase, without a probe per read;
 * - `total_changes()` counts every row this connection has inserted, updated or deleted
 *   (https://sqlite.org/lang_corefunc.html#total_changes). Asked with data_version, it catches writes on the connection that the storage did not tell
 *   (through its raw handle, in tests and tools) by the next poll phase.
 * If any moved, everything cached is dropped before the read. A revoke committed by
 * any instance is therefore seen by every request sent after it, on every instance.
 *
 * The probes are read before the row is loaded, so a commit racing with the load can only
 * make the cached row newer than its tag, never older: the next probe drops it anyway.
 */
export class ReadCache {
  private readonly dataVersion: Database.Statement;
  private readonly totalChanges: Database.Statement;
  private version: unknown = null;
  private changes: unknown = null;
  /** A statement that may change rows was taken since the last probe (noteWrite). */
  private wrote = false;
  /** The poll phase in which data_version was last asked (0: not in a known phase). */
  private probedPhase = 0;
  private readonly kinds = new Map<string, Map<string | number, unknown>>();
  /** Caches kept elsewhere under a kind's name, told when that kind is dropped. */
  private readonly attached = new Map<string, () => void>();

  constructor(db: Database.Database) {
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.totalChanges = db.prepare('SELECT total_changes()').pluck();
  }

  /**
   * This connection is about to run a statement that may change rows: the next read drops
   * everything, unless the statement runs inside ownWrite. Cheap: it only sets a flag.
   */
  noteWrite(): void {
    this.wrote = true;
  }

  /**
   * A cache the caller keeps itself (the PIN poll table, decision 0095), under the name
   * `kind`: `onDrop` runs whenever this cache would drop that kind, and the caller then
   * treats everything it holds as stale. Call probe() before serving from it.
   */
  attach(kind: string, onDrop: () => void): void {
    this.attached.set(kind, onDrop);
  }

  /** Checks for changes as a read does, dropping what they invalidate (and telling attached caches). */
  probe(): void {
    this.dropIfChanged();
  }

  /** Forgets everything (after migrations, or when closing). */
  clear(): void {
    this.dropAll();
    this.version = null;
    this.changes = null;
    this.probedPhase = 0;
  }

  /**
   * Runs `write`, a write on this connection that cannot change the rows cached under the
   * `unaffected` kinds, and keeps those kinds cached across it (docs/decisions/0083). This
   * holds only when this connection made no other change since the last probe (none was
   * told, and the total_changes count still matches): then the count is advanced past
   * `write` and every other kind is dropped. Otherwise, or when `write` throws, the next
   * read drops everything, as before. Commits by other connections are still caught by
   * data_version.
   */
  ownWrite<T>(unaffected: readonly string[], write: () => T): T {
    const clean = !this.wrote && this.totalChanges.get() === this.changes;
    const result = write();
    if (clean) {
      for (const kind of [...this.kinds.keys()]) if (!unaffected.includes(kind)) this.kinds.delete(kind);
      for (const [kind, onDrop] of this.attached) if (!unaffected.includes(kind)) onDrop();
      this.changes = this.totalChanges.get();
      this.wrote = false;
    }
    return result;
  }

  /** Drops everything cached if another connection committed or this one wrote since the last probe. */
  private dropIfChanged(): void {
    let moved = this.wrote;
    const phase = currentPollPhase();
    if (phase === 0 || phase !== this.probedPhase) {
      const version = this.dataVersion.get();
      const changes = this.totalChanges.get();
      this.probedPhase = phase;
      if (version !== this.version || changes !== this.changes) moved = true;
      this.version = version;
      this.changes = changes;
    } else if (moved) {
      this.changes = this.totalChanges.get();
    }
    if (!moved) return;
    this.wrote = false;
    this.dropAll();
  }

  private dropAll(): void {
    this.kinds.clear();
    for (const onDrop of this.attached.values()) onDrop();
  }

  /**
   * The cached value of `kind`/`key` if the database is unchanged since it was loaded and
   * `fresh(value)` still holds; else `load()`'s answer, cached when it is not null.
   * Values are frozen (with the objects and arrays they hold) when cached and handed out
   * as they are: no caller can change the cache, and no copy is made per read.
   */
  read<T extends object>(
    kind: string,
    key: string | number,
    load: () => T | null,
    fresh: (value: T) => boolean = () => true,
  ): T | null {
    this.dropIfChanged();
    let entries = this.kinds.get(kind);
    if (!entries) {
      entries = new Map();
      this.kinds.set(kind, entries);
    }
    const hit = entries.get(key) as T | undefined;
    if (hit !== undefined && fresh(hit)) return hit;
    const value = load();
    if (value === null) {
      entries.delete(key);
      return null;
    }
    if (entries.size >= MAX_ENTRIES) entries.clear();
    entries.set(key, freeze(value));
    return value;
  }
}

/** Freezes a value and the plain objects and arrays it holds, however deep. */
function freeze<T extends object>(value: T): T {
  for (const inner of Object.values(value)) {
    if (inner !== null && typeof inner === 'object' && !Object.isFrozen(inner)) freeze(inner as object);
  }
  return Object.freeze(value);
}
