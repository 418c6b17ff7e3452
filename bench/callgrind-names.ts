/**
 * Names for the machine code V8 generates, in a callgrind profile.
 *
 * callgrind knows the functions of node's binary and its libraries, but the JavaScript V8
 * compiles at run time has no symbols: `callgrind_annotate` lists it as `???:0x<address>`,
 * a third or more of a request's instructions. Started with `--perf-basic-prof`, node
 * writes `/tmp/perf-<pid>.map`, one line per piece of generated code (`<start> <size>
 * <name>`, in hex), for Linux `perf`; the same lines name callgrind's addresses. Used by
 * `npm run bench:instructions -- --names`.
 */

/** One line of a perf map: generated code from `start` for `size` bytes. */
interface MapEntry {
  start: number;
  size: number;
  name: string;
}

/** A perf map's entries, sorted by start address. Code that moved or was replaced has several; the last written wins below. */
export function parsePerfMap(text: string): MapEntry[] {
  const entries: MapEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.+)$/i.exec(line);
    if (m) entries.push({ start: parseInt(m[1]!, 16), size: parseInt(m[2]!, 16), name: m[3]! });
  }
  // A stable sort keeps entries of the same start in the order written: the later one is the live one.
  return entries.sort((a, b) => a.start - b.start);
}

/** The entry whose code holds `address`, or undefined. */
function lookup(entries: readonly MapEntry[], address: number): MapEntry | undefined {
  let lo = 0;
  let hi = entries.length - 1;
  let found = -1;
  // The last entry starting at or before the address.
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (entries[mid]!.start <= address) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  // Entries are small and rarely overlap; look back a few for one that still covers the address.
  for (let i = found; i >= 0 && i > found - 8; i--) {
    const e = entries[i]!;
    if (address >= e.start && address < e.start + e.size) return e;
  }
  return undefined;
}

/** A readable name: V8's tier marks kept (`*` optimized, `~` interpreted, `^` baseline), paths made short. */
function shortName(name: string, root: string): string {
  return name
    .replace(/^(JS|LazyCompile|Function):/, '')
    .replaceAll(`file://${root}/`, '')
    .replaceAll(`${root}/`, '');
}

/**
 * Self instructions per function from `callgrind_annotate --threshold=100` output, with
 * generated code named through the perf map; code the map does not cover is
 * "(generated code, unnamed)". Sorted, most first.
 */
export function namedSelfCosts(annotated: string, perfMap: readonly MapEntry[], root: string): { total: number; rows: { name: string; instructions: number }[] } {
  let total = 0;
  const byName = new Map<string, number>();
  for (const line of annotated.split('\n')) {
    const m = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.+)$/.exec(line);
    if (!m) continue;
    const count = Number(m[1]!.replaceAll(',', ''));
    let name = m[2]!.trim();
    if (name.startsWith('PROGRAM TOTALS')) {
      total = count;
      continue;
    }
    const unknown = /^\?\?\?:0x([0-9a-f]+)/i.exec(name);
    if (unknown) {
      const entry = lookup(perfMap, parseInt(unknown[1]!, 16));
      name = entry ? shortName(entry.name, root) : '(generated code, unnamed)';
    } else {
      // "file:function [object]": the object is noise here, the file is ??? for node's own symbols.
      name = name.replace(/\s+\[[^\]]*\]$/, '').replace(/^\?\?\?:/, '');
    }
    byName.set(name, (byName.get(name) ?? 0) + count);
  }
  const rows = [...byName].map(([name, instructions]) => ({ name, instructions })).sort((a, b) => b.instructions - a.instructions);
  return { total, rows };
}
