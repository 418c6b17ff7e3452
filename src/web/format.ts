/** Times on pages: UTC, minute precision, the same for every reader (no client-side script to localise). */
export function formatTime(ms: number | null): string {
  if (ms === null) return 'never';
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** The machine-readable form for a <time datetime> attribute. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}
