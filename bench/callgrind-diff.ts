/**
 * Where two scenarios' counts differ, function by function: `node --import tsx
 * bench/callgrind-diff.ts --event I1mr --requests N A_DIR A_MAP B_DIR B_MAP`, where each
 * DIR and MAP are what `npm run bench:instructions -- --keep --names` printed for a
 * scenario (add `--caches` there to compare cache misses). Prints B minus A per request,
 * most first, then the most negative: with A the "ceiling + §2.3 headers" row and B the
 * token check, what keyfob's call adds to its answer's shape (bench/README.md, twelfth
 * round).
 *
 * Every counted window's main-thread dump is summed (the warm-up is not dumped), and V8's
 * generated code is named through the perf map (callgrind-names.ts). `--event` is one of
 * callgrind's events: Ir (instructions, the default), I1mr, D1mr, D1mw (first-level misses).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { namedSelfCosts, parsePerfMap } from './callgrind-names.js';

const EVENTS = ['Ir', 'I1mr', 'D1mr', 'D1mw'];
const USAGE = `usage: callgrind-diff.ts --event ${EVENTS.join('|')} --requests N (per window) [--rows N] A_DIR A_MAP B_DIR B_MAP\n`;
const OPTIONS = { event: { type: 'string' }, requests: { type: 'string' }, rows: { type: 'string' } } as const;

let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
try {
  parsed = parseArgs({ options: OPTIONS, allowPositionals: true, strict: true });
} catch (err) {
  process.stderr.write(`callgrind-diff: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(2);
}
const { values: options, positionals } = parsed;
const event = options.event ?? 'Ir';
const requests = Number(options.requests);
const rows = Number(options.rows ?? 30);
if (positionals.length !== 4 || !EVENTS.includes(event) || !(requests > 0)) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const [dirA, mapA, dirB, mapB] = positionals as [string, string, string, string];

/** The event per request by function name, over every main-thread dump in `dir`. */
function perRequest(dir: string, mapFile: string): Map<string, number> {
  const perfMap = parsePerfMap(readFileSync(mapFile, 'utf8'));
  const dumps = readdirSync(dir).filter((f) => /\.\d+-01$/.test(f));
  if (dumps.length === 0) throw new Error(`no main-thread dump in ${dir}`);
  const sum = new Map<string, number>();
  for (const f of dumps) {
    const annotated = execFileSync('callgrind_annotate', [`--show=${event}`, `--sort=${event}`, '--threshold=100', join(dir, f)], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    for (const r of namedSelfCosts(annotated, perfMap, process.cwd()).rows) sum.set(r.name, (sum.get(r.name) ?? 0) + r.instructions);
  }
  const out = new Map<string, number>();
  for (const [name, n] of sum) out.set(name, n / dumps.length / requests);
  return out;
}

const a = perRequest(dirA, mapA);
const b = perRequest(dirB, mapB);
const total = (m: Map<string, number>) => [...m.values()].reduce((x, y) => x + y, 0);
const diffs = [...new Set([...a.keys(), ...b.keys()])]
  .map((name) => ({ name, a: a.get(name) ?? 0, b: b.get(name) ?? 0 }))
  .map((r) => ({ ...r, d: r.b - r.a }))
  .sort((x, y) => y.d - x.d);
const line = (r: { name: string; a: number; b: number; d: number }) =>
  `${r.d.toFixed(1).padStart(9)}  ${r.b.toFixed(1).padStart(9)}  ${r.a.toFixed(1).padStart(9)}  ${r.name.slice(0, 110)}`;
process.stdout.write(`${event} per request: A ${total(a).toFixed(0)}, B ${total(b).toFixed(0)}\n\n`);
process.stdout.write(`${'B − A'.padStart(9)}  ${'B'.padStart(9)}  ${'A'.padStart(9)}  function (self)\n`);
for (const r of diffs.slice(0, rows)) process.stdout.write(`${line(r)}\n`);
process.stdout.write('...\n');
for (const r of diffs.slice(-Math.min(rows, 10))) process.stdout.write(`${line(r)}\n`);
