import { userCodeKey } from '../oauth/user-codes.js';
import type { PinPollState } from './storage.js';

/** What the database holds for a PIN poll: a PinPollState without this process's answer time. */
export type StoredPollState = Omit<PinPollState, 'answeredAt'>;

/** Float64 fields per row: 64 bytes, one cache line. */
const ROW = 8;
/** Row fields: the key plus one (0: an empty row), then the state, then the answer time. */
const KEY = 0;
const EPOCH = 1;
const APP = 2;
const EXPIRES = 3;
/** NaN for null. */
const GRANT = 4;
/** NaN for null. */
const POLLED = 5;
const ANSWERED = 6;

/** An EPOCH for a row whose state is never served from memory. */
const UNTAGGED = -1;
const MIN_ROWS = 1 << 10;
/** Beyond this (32 MB of rows) the table starts over instead of growing: a bound on memory, not on correctness. */
const MAX_ROWS = 1 << 19;
/** Linear probing stays short below this share of rows in use. */
const MAX_LOAD = 0.6;
/** A rebuilt table holds at most this share, so rebuilds stay rare. */
const REBUILT_LOAD = 0.4;

/**
 * A storage's memory of PIN polls (decision 0095): per user code, the poll state last read
 * from the database (reference §7.2: app, expiry, grant, first poll time) and the time this
 * process last answered a poll of the code (the legacy "Slow down" rule, decisions 0031,
 * 0080), side by side in one 64-byte row of one open-addressed table.
 *
 * Why not a Map of objects: with 100,000 pending codes polled in turn, every poll's data is
 * cold. A V8 Map reaches a value through a bucket array, an entry table and the value object
 * with its boxed numbers, each a likely cache and TLB miss; two such maps (states and
 * clocks) cost a poll 4–5 µs of a ceiling's ~20 (bench/README.md, seventh round). Here a
 * poll touches one row, and the probe that finds it reads the same row.
 *
 * States are tagged with the epoch in which they were read; `stale()` (the database changed
 * in ways the storage cannot name, decision 0084) moves the epoch, so every state is read
 * again at its next poll, while the answer times stay. A storage that keeps no states
 * (PostgreSQL) stores each read untagged and keeps only the answer times.
 *
 * Rows are keyed by userCodeKey's number for the code (a well-formed code's is below 30^5);
 * any other text is read each time and never kept. Memory is bounded by the
 * live PINs: rows are made only for codes the database holds, and when the table fills, it
 * is rebuilt with the rows whose PIN had not expired, at most two fifths full.
 */
export class PinPollTable {
  private rows = new Float64Array(MIN_ROWS * ROW);
  /** 32 minus log2(row count): multiplicative hashing keeps the top bits. */
  private shift = 32 - Math.log2(MIN_ROWS);
  private mask = MIN_ROWS - 1;
  private used = 0;
  private epoch = 0;
  /**
   * The key of the row found last, and that row's offset (-1 and -1: none): a pending poll
   * finds its row to read the state, then again to note the answer. Keys are compared, not
   * codes (no code is compared as text in the process, test/unit/timing-safe.test.ts). Rows
   * move only in a rebuild, which clears this.
   */
  private lastKey = -1;
  private lastAt = -1;

  /** Every state held is stale from now on; answer times are kept. */
  stale(): void {
    this.epoch += 1;
  }

  /** Rows in use (a code forgotten keeps its row until the next rebuild). */
  get size(): number {
    return this.used;
  }

  /** The state held for the code if it was read in the current epoch, else undefined. */
  fresh(userCode: string): PinPollState | undefined {
    const key = keyOf(userCode);
    const at = key < 0 ? -1 : this.find(key);
    if (at < 0 || this.rows[at + EPOCH] !== this.epoch) return undefined;
    this.lastKey = key;
    this.lastAt = at;
    return this.stateAt(at, userCode);
  }

  /**
   * Keeps what was just read from the database for the code (null: no PIN holds it) and
   * returns it with this process's answer time. `tag`: served from memory until the epoch
   * moves (read after the storage's last check for changes); otherwise kept only for the
   * answer time.
   */
  store(userCode: string, state: StoredPollState | null, now: number, tag: boolean): PinPollState | null {
    if (state === null) {
      this.forget(userCode);
      return null;
    }
    const key = keyOf(userCode);
    if (key < 0) return { ...state, answeredAt: Number.NEGATIVE_INFINITY };
    let at = this.find(key);
    if (at < 0) at = this.insert(key, now);
    const r = this.rows;
    r[at + EPOCH] = tag ? this.epoch : UNTAGGED;
    r[at + APP] = state.appId;
    r[at + EXPIRES] = state.expiresAt;
    r[at + GRANT] = state.grantId ?? Number.NaN;
    r[at + POLLED] = state.lastPolledAt ?? Number.NaN;
    this.lastKey = key;
    this.lastAt = at;
    return { ...state, answeredAt: r[at + ANSWERED]! };
  }

  /** Notes that this process answered a poll of the code at `at`; ignored for a code it holds no row for. */
  noteAnswered(userCode: string, at: number): void {
    const key = keyOf(userCode);
    // A key below 0 (no well-formed code) has no row; lastKey is -1 only with lastAt -1.
    const i = key === this.lastKey ? this.lastAt : key < 0 ? -1 : this.find(key);
    if (i >= 0) this.rows[i + ANSWERED] = at;
  }

  /** This process wrote the code's first poll time: its held state, if any, says so. */
  setPolled(userCode: string, at: number): void {
    const i = this.rowOf(userCode);
    if (i >= 0) this.rows[i + POLLED] = at;
  }

  /** This process attached a grant to the code's PIN: its held state, if any, says so. */
  setGrant(userCode: string, grantId: number): void {
    const i = this.rowOf(userCode);
    if (i >= 0) this.rows[i + GRANT] = grantId;
  }

  /** The code's PIN is gone (or replaced): nothing held for it is used again. */
  forget(userCode: string): void {
    const i = this.rowOf(userCode);
    if (i < 0) return;
    this.rows[i + EPOCH] = UNTAGGED;
    this.rows[i + EXPIRES] = Number.NEGATIVE_INFINITY;
    this.rows[i + ANSWERED] = Number.NEGATIVE_INFINITY;
  }

  private rowOf(userCode: string): number {
    const key = keyOf(userCode);
    return key < 0 ? -1 : this.find(key);
  }

  private stateAt(at: number, userCode: string): PinPollState {
    const r = this.rows;
    const grant = r[at + GRANT]!;
    const polled = r[at + POLLED]!;
    return {
      userCode,
      appId: r[at + APP]!,
      expiresAt: r[at + EXPIRES]!,
      grantId: grant === grant ? grant : null,
      lastPolledAt: polled === polled ? polled : null,
      answeredAt: r[at + ANSWERED]!,
    };
  }

  /** The offset of the key's row, or -1. Linear probing from the key's hash. */
  private find(key: number): number {
    const r = this.rows;
    const mark = key + 1;
    let slot = Math.imul(key, 0x9e3779b1) >>> this.shift;
    for (;;) {
      const at = slot * ROW;
      const k = r[at + KEY];
      if (k === mark) return at;
      if (k === 0) return -1;
      slot = (slot + 1) & this.mask;
    }
  }

  /** A new row for a key not held, with nothing known; rebuilds first when the table is full. */
  private insert(key: number, now: number): number {
    if (this.used + 1 > (this.mask + 1) * MAX_LOAD) this.rebuild(now);
    const r = this.rows;
    let slot = Math.imul(key, 0x9e3779b1) >>> this.shift;
    while (r[slot * ROW + KEY] !== 0) slot = (slot + 1) & this.mask;
    const at = slot * ROW;
    r[at + KEY] = key + 1;
    r[at + EPOCH] = UNTAGGED;
    r[at + EXPIRES] = Number.NEGATIVE_INFINITY;
    r[at + ANSWERED] = Number.NEGATIVE_INFINITY;
    this.used += 1;
    return at;
  }

  /**
   * A new table with the rows whose PIN had not expired at `now` (only a live PIN's state or
   * answer time can change a poll's answer), sized so they fill at most REBUILT_LOAD of it.
   * Past MAX_ROWS it starts over empty: every code is read again.
   */
  private rebuild(now: number): void {
    const old = this.rows;
    this.lastKey = -1;
    this.lastAt = -1;
    let kept = 0;
    for (let at = 0; at < old.length; at += ROW) if (old[at + KEY] !== 0 && old[at + EXPIRES]! > now) kept += 1;
    let rows = MIN_ROWS;
    while (rows * REBUILT_LOAD < kept + 1 && rows < MAX_ROWS) rows *= 2;
    const keep = (kept + 1) <= rows * REBUILT_LOAD;
    this.rows = new Float64Array(rows * ROW);
    this.shift = 32 - Math.log2(rows);
    this.mask = rows - 1;
    this.used = 0;
    if (!keep) return;
    const r = this.rows;
    for (let from = 0; from < old.length; from += ROW) {
      if (old[from + KEY] === 0 || !(old[from + EXPIRES]! > now)) continue;
      let slot = Math.imul(old[from + KEY]! - 1, 0x9e3779b1) >>> this.shift;
      while (r[slot * ROW + KEY] !== 0) slot = (slot + 1) & this.mask;
      r.set(old.subarray(from, from + ROW), slot * ROW);
      this.used += 1;
    }
  }
}

/** The code's row key (userCodeKey's number), or -1 for text that is no well-formed code. */
function keyOf(userCode: string): number {
  const key = userCodeKey(userCode);
  return typeof key === 'number' && key < 0x7fffffff ? key : -1;
}
