import { userCodeKey } from '../user-codes.js';

/**
 * When each PIN code was last answered by this process, for the legacy "Slow down" rule
 * (§7.2, decisions 0031 and 0080). The rule only looks one `gapMs` back, so answers are
 * kept in two generations of one gap each: when a gap has passed, the older generation is
 * dropped whole and a new one starts. The maps hold at most the codes answered in the last
 * two gaps, whatever the number of live PINs, and no call walks or deletes entries one by
 * one (a sweep of a map of ~70,000 codes once a second showed in profiles, and a V8 Map
 * keeps deleted slots until it rehashes: bench/README.md).
 */
export class PinPollTimes {
  private current = new Map<number | string, number>();
  private previous = new Map<number | string, number>();
  private startedAt = 0;
  private previousStartedAt = 0;

  constructor(private readonly gapMs: number) {}

  /** The last answer this process gave for the code, if within about two gaps. */
  get(userCode: string): number | undefined {
    const key = userCodeKey(userCode);
    const inCurrent = this.current.get(key);
    if (inCurrent !== undefined) return this.startedAt + inCurrent;
    const inPrevious = this.previous.get(key);
    return inPrevious === undefined ? undefined : this.previousStartedAt + inPrevious;
  }

  /** Records an answered poll, starting a new generation when a gap has passed. */
  set(userCode: string, now: number): void {
    const age = now - this.startedAt;
    if (age >= this.gapMs || age < 0) {
      // Two gaps gone, or the clock went back: nothing kept can still be used.
      this.previous = age >= 2 * this.gapMs || age < 0 ? new Map() : this.current;
      this.previousStartedAt = this.startedAt;
      this.current = new Map();
      this.startedAt = now;
    }
    // Kept as the offset from the generation's start, a small integer: a time in ms since
    // 1970 is not, and would be a heap number allocated on every poll and kept two gaps.
    this.current.set(userCodeKey(userCode), now - this.startedAt);
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
