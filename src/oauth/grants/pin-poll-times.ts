/**
 * When each PIN code was last answered by this process, for the legacy "Slow down" rule
 * (§7.2, decisions 0031 and 0080). The rule only looks one `gapMs` back, so an entry
 * older than that is useless and is dropped: the map holds only the codes answered in
 * the last `gapMs`, whatever the number of live PINs.
 */
export class PinPollTimes {
  /** Kept in answer order (a code answered again moves to the end), so the oldest come first. */
  private readonly times = new Map<string, number>();

  constructor(private readonly gapMs: number) {}

  /** The last answer this process gave for the code, if within the gap. */
  get(userCode: string): number | undefined {
    return this.times.get(userCode);
  }

  /** Records an answered poll, first dropping the entries past the gap (from the oldest: amortised O(1)). */
  set(userCode: string, now: number): void {
    for (const [code, t] of this.times) {
      if (now - t < this.gapMs && now >= t) break;
      this.times.delete(code);
    }
    this.times.delete(userCode);
    this.times.set(userCode, now);
  }

  /** Forgets a code (collected, or dead). */
  delete(userCode: string): void {
    this.times.delete(userCode);
  }

  get size(): number {
    return this.times.size;
  }
}
