/**
 * Call stacks recorded by `perf record -g`, as `perf script -F comm,ip,sym` prints them,
 * and the three readings bench/perf-record.ts makes of them: where the samples stopped
 * (self), which frames they passed through (inclusive), and what a chosen frame spent its
 * share on (its callees). Pure functions over text, so they are tested without perf.
 */

/** One sample's frames, innermost first: symbol names only (`[unknown]` where perf had none). */
export type Stack = readonly string[];

/**
 * The samples of `perf script -F comm,ip,sym` output: each starts with a line holding the
 * command name, then one tab-indented line per frame, `<address> <symbol>`.
 */
export function parsePerfScript(text: string): Stack[] {
  const stacks: Stack[] = [];
  let frames: string[] | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('\t')) {
      const frame = line.trim();
      const space = frame.indexOf(' ');
      frames?.push(space === -1 ? '[unknown]' : frame.slice(space + 1));
    } else if (line.trim() !== '') {
      if (frames !== null && frames.length > 0) stacks.push(frames);
      frames = [];
    }
  }
  if (frames !== null && frames.length > 0) stacks.push(frames);
  return stacks;
}

export interface Share {
  name: string;
  /** Fraction of all samples, 0 to 1. */
  share: number;
}

function ranked(counts: Map<string, number>, total: number, top: number): Share[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, n]) => ({ name, share: total === 0 ? 0 : n / total }));
}

/** The frames samples were taken in (each stack's innermost frame), most frequent first. */
export function selfShares(stacks: readonly Stack[], top: number): Share[] {
  const counts = new Map<string, number>();
  for (const s of stacks) counts.set(s[0]!, (counts.get(s[0]!) ?? 0) + 1);
  return ranked(counts, stacks.length, top);
}

/** Frames whose name passes `keep`, by the share of samples that passed through them (a recursive frame counts once). */
export function inclusiveShares(stacks: readonly Stack[], keep: (name: string) => boolean, top: number): Share[] {
  const counts = new Map<string, number>();
  for (const s of stacks) {
    for (const name of new Set(s)) if (keep(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return ranked(counts, stacks.length, top);
}

/**
 * What the samples under a frame spent their time in: for each stack passing through a
 * frame whose name contains `frame` (its outermost such frame), the `depth` frames
 * called from it, joined with ' > ' (`<self>` when the sample stopped in the frame
 * itself). `share` is of all samples; `total` the frame's own inclusive share.
 */
export function calleesOf(stacks: readonly Stack[], frame: string, depth: number, top: number): { total: number; callees: Share[] } {
  const counts = new Map<string, number>();
  let passing = 0;
  for (const s of stacks) {
    let at = -1;
    for (let i = s.length - 1; i >= 0; i--) {
      if (s[i]!.includes(frame)) {
        at = i;
        break;
      }
    }
    if (at === -1) continue;
    passing += 1;
    const path = at === 0 ? '<self>' : s.slice(Math.max(0, at - depth), at).reverse().join(' > ');
    counts.set(path, (counts.get(path) ?? 0) + 1);
  }
  return { total: stacks.length === 0 ? 0 : passing / stacks.length, callees: ranked(counts, stacks.length, top) };
}
