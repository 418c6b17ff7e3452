import { userCodeKey } from '../user-codes.js';

/** When this process last answered one code's poll: read and moved forward in place. */
export interface PollClock {
  /** The last answered poll's time in ms, or -Infinity when none is kept. */
  at: number;
}

/**
 * When each PIN code was last answered by this process, for the legacy "Slow down" rule
 * (§7.2, decisions 0031, 0080 and 0090). Each code has one `PollClock`, updated in place,
 * so a poll of a code kept in the current generation costs one map lookup.
 *
 * Memory is bounded by generations: a code's clock lives in the current generation
 * (moved there from the previous one, or made, when it is first asked for in a
 * generation), and when a generation's time has passed the previous one is dropped whole.
 * The maps hold at most the codes asked about in the last two generations, and no call
 * walks or deletes entries one by one (a sweep of a map of ~70,000 codes once a second
 * showed in profiles, and a V8 Map keeps deleted slots until it rehashes: bench/README.md).
 * A generation must last at least as long as the longest gap the caller asks about; a
 * longer one finds more codes in the current generation (a device polls every 5 s).
 */
export class PinPollTimes {
  private current = new Map<number | string, PollClock>();
  private previous = new Map<number | string, PollClock>();
  private startedAt = 0;

  constructor(private readonly generationMs: number) {}

  /** The code's clock at `now`, kept in the current generation from now on. */
  clockOf(userCode: string, now: number): PollClock {
    const age = now - this.startedAt;
    if (age >= this.generationMs || age < 0) {
      // Two generations gone, or the clock went back: nothing kept can still be used.
      this.previous = age >= 2 * this.generationMs || age < 0 ? new Map() : this.current;
      this.current = new Map();
      this.startedAt = now;
    }
    const key = userCodeKey(userCode);
    let clock = this.current.get(key);
    if (clock !== undefined) return clock;
    clock = this.previous.get(key) ?? { at: Number.NEGATIVE_INFINITY };
    this.current.set(key, clock);
    return clock;
  }

  /** Forgets a code (collected, or dead). */
  delete(userCode: string): void {
    const key = userCodeKey(userCode);
    this.current.delete(key);
    this.previous.delete(key);
  }

  /** Entries held (a code in both generations counts twice). */
  get size(): number {
    return this.current.size + this.previous.size;
  }
}
