/**
 * When each PIN code was last answered by this process, for the legacy "Slow down" rule
 * (§7.2, decisions 0031 and 0080). The rule only looks one `gapMs` back, so an entry
 * older than that is useless and is dropped: the map holds at most the codes answered in
 * about the last two gaps, whatever the number of live PINs.
 */
export class PinPollTimes {
  private readonly times = new Map<string, number>();
  private sweptAt = 0;

  constructor(private readonly gapMs: number) {}

  /** The last answer this process gave for the code, if within the gap. */
  get(userCode: string): number | undefined {
    return this.times.get(userCode);
  }

  /**
   * Records an answered poll, and drops the entries past the gap at most once per gap.
   * (Dropping from the oldest on every call was tried: a V8 Map keeps deleted slots until
   * it rehashes, so walking from its start got slower as it went, bench/README.md.)
   */
  set(userCode: string, now: number): void {
    if (now - this.sweptAt >= this.gapMs || now < this.sweptAt) {
      this.sweptAt = now;
      for (const [code, t] of this.times) if (now - t >= this.gapMs || now < t) this.times.delete(code);
    }
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
