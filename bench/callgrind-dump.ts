/**
 * Totals of one callgrind dump (`callgrind.out.<pid>.<n>-<thread>`): the instructions it
 * counted and, when callgrind simulated the caches (`--cache-sim=yes`, bench:instructions
 * --caches), the first-level cache misses. Its `events:` line names the columns (Ir, or
 * Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw with the simulation); its `summary:` (or
 * `totals:`) line gives one total per column, and leaves out trailing columns that
 * stayed at zero.
 */

/** First-level cache misses: instruction fetches, and data reads and writes together. */
export interface CacheMisses {
  instruction: number;
  data: number;
}

export interface DumpTotals {
  instructions: number;
  /** Only when the dump has the simulated caches' columns. */
  misses?: CacheMisses;
}

/** The dump's totals, or null when it has none (an empty or cut-off file). */
export function dumpTotals(dump: string): DumpTotals | null {
  const totals = /^(?:summary|totals):((?: \d+)+)\s*$/m.exec(dump)?.[1]?.trim().split(' ').map(Number);
  if (totals === undefined || totals.length === 0) return null;
  const events = /^events: (.+)$/m.exec(dump)?.[1]?.trim().split(/\s+/) ?? ['Ir'];
  const of = (event: string) => (events.includes(event) ? (totals[events.indexOf(event)] ?? 0) : undefined);
  const instructions = of('Ir');
  if (instructions === undefined) return null;
  const i1 = of('I1mr');
  if (i1 === undefined) return { instructions };
  return { instructions, misses: { instruction: i1, data: (of('D1mr') ?? 0) + (of('D1mw') ?? 0) } };
}
