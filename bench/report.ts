/**
 * The bench's output: one table on stdout and the same figures as JSON. Every figure is
 * also given as a ratio to the bare-Fastify ceiling measured in the same run:
 *   req/s ratio  = keyfob req/s / ceiling req/s          (higher is better, 1 = as fast)
 *   CPU ratio    = ceiling CPU per request / keyfob CPU per request (1 = as cheap)
 * A row measured in paired slices (bench/load.ts) takes the median of its pairs' ratios;
 * a row without pairs is taken against the better of the ceiling's two whole runs.
 */
import type { BackendRun } from './run-backend.js';
import { pairedRatios, SLICE_S, type Measurement } from './load.js';
import type { PinMemory } from './scenarios/pin-polling.js';
import type { ScenarioResult } from './scenarios/types.js';

/** The targets, as ratios to the same-run ceiling (both req/s and CPU). */
export const TARGETS: Partial<Record<ScenarioResult['id'], number>> = {
  'token-validation': 0.9,
  'pin-polling': 0.85,
  'code-exchange': 0.4,
};
export const VALIDATION_P99_MS = 10;
export const PIN_MEMORY_LIMIT_BYTES = 100 * 1024 * 1024;

export interface Ceiling {
  before: Measurement;
  after: Measurement;
  /**
   * The better of the two runs, what ratios are taken against: other work on the machine
   * only ever makes the ceiling slower, and a slowed ceiling would flatter every ratio.
   */
  rps: number;
  cpuUsPerOk: number;
}

export function ceilingOf(before: Measurement, after: Measurement): Ceiling {
  return { before, after, rps: Math.max(before.rps, after.rps), cpuUsPerOk: Math.min(before.cpuUsPerOk, after.cpuUsPerOk) };
}

export interface ScenarioRow {
  backend: string;
  id: ScenarioResult['id'];
  title: string;
  unit: ScenarioResult['unit'];
  available: boolean;
  note?: string;
  rps?: number;
  rpsRatio?: number;
  p50Ms?: number;
  p99Ms?: number;
  cpuUsPerOk?: number;
  cpuRatio?: number;
  /** The same two ratios against the ceiling's whole runs before and after (the only ratios until the ninth round). */
  rpsRatioToRunCeiling?: number;
  cpuRatioToRunCeiling?: number;
  /** The pairs of slices the ratios are the medians of, when the row was paired. */
  pairs?: { cpuRatios: number[]; rpsRatios: number[]; ceilingCpuUsPerOk: number; ceilingRps: number };
  /**
   * CPU ratio to the scale row whose answer has this row's shape (the §2.3 headers; the
   * exchange's POST shape), when that row was measured: what keyfob costs beyond the shape
   * the reference asks for. For reading only; the targets are judged on cpuRatio.
   */
  shapeRatio?: number;
  serverBusy?: number;
  generatorBusy?: number;
  target?: number;
  /** Each target the row has, and whether it was met. */
  met?: Record<string, boolean>;
  checks: ScenarioResult['checks'];
}

export interface BackendSkipped {
  name: string;
  unavailable: string;
}

export interface Report {
  date: string;
  machine: { cpu: string; cores: number; node: string; pinned: boolean; serverCore: number; loadCore: number };
  method: { generator: string; connections: number; seconds: number };
  ceiling: Ceiling;
  rows: ScenarioRow[];
  /** withinLimit is null when the server could not poll the PINs (no PIN endpoint yet). */
  memory: Array<PinMemory & { backend: string; deltaBytes: number; withinLimit: boolean | null }>;
  skipped: BackendSkipped[];
  allChecksPassed: boolean;
  allTargetsMet: boolean;
}

export function rowOf(backend: string, s: ScenarioResult, ceiling: Ceiling): ScenarioRow {
  const row: ScenarioRow = { backend, id: s.id, title: s.title, unit: s.unit, available: s.available, checks: s.checks };
  if (s.note) row.note = s.note;
  const m = s.measurement;
  if (!s.available || !m) return row;
  row.rps = m.rps;
  row.p50Ms = m.p50Ms;
  row.p99Ms = m.p99Ms;
  row.cpuUsPerOk = m.cpuUsPerOk;
  row.rpsRatioToRunCeiling = m.rps / ceiling.rps;
  row.cpuRatioToRunCeiling = ceiling.cpuUsPerOk / m.cpuUsPerOk;
  if (m.pairs) {
    const median = pairedRatios(m.pairs);
    row.rpsRatio = median.rps;
    row.cpuRatio = median.cpu;
    row.pairs = { cpuRatios: m.pairs.cpuRatios, rpsRatios: m.pairs.rpsRatios, ceilingCpuUsPerOk: m.pairs.ceiling.cpuUsPerOk, ceilingRps: m.pairs.ceiling.rps };
  } else {
    row.rpsRatio = row.rpsRatioToRunCeiling;
    row.cpuRatio = row.cpuRatioToRunCeiling;
  }
  row.serverBusy = m.serverBusy;
  row.generatorBusy = m.generatorBusy;
  const target = TARGETS[s.id];
  if (target !== undefined) {
    row.target = target;
    row.met = { 'req/s': row.rpsRatio >= target, cpu: row.cpuRatio >= target };
    if (s.id === 'token-validation') row.met[`p99<${VALIDATION_P99_MS}ms`] = m.p99Ms < VALIDATION_P99_MS;
  }
  return row;
}

/** The scale row with each scenario's answer shape (bench/scenarios/ceiling.ts). */
const SHAPE_OF: Partial<Record<ScenarioResult['id'], ScenarioResult['id']>> = {
  'token-validation': 'ceiling-cors',
  'pin-first-poll': 'ceiling-cors',
  'pin-polling': 'ceiling-cors',
  'code-exchange': 'ceiling-post',
};

export function memoryOf(backend: string, m: PinMemory): Report['memory'][number] {
  const deltaBytes = m.rssAfterBytes - m.rssBeforeBytes;
  // Only a run where the server answered polls on every PIN says anything about the limit.
  return { backend, ...m, deltaBytes, withinLimit: m.polled ? deltaBytes < PIN_MEMORY_LIMIT_BYTES : null };
}

const fmtInt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US'));
const fmt = (n: number | undefined, digits: number) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const mb = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function buildReport(
  input: Omit<Report, 'rows' | 'memory' | 'allChecksPassed' | 'allTargetsMet'> & { runs: BackendRun[]; scaleRows?: ScenarioResult[] },
): Report {
  const rows: ScenarioRow[] = [
    { backend: 'fastify', id: 'ceiling', title: 'ceiling: bare Fastify, fixed JSON', unit: 'request', available: true, rps: input.ceiling.rps, rpsRatio: 1, p50Ms: input.ceiling.before.p50Ms, p99Ms: input.ceiling.before.p99Ms, cpuUsPerOk: input.ceiling.cpuUsPerOk, cpuRatio: 1, serverBusy: input.ceiling.before.serverBusy, generatorBusy: input.ceiling.before.generatorBusy, checks: [] },
  ];
  // For scale only (no target): the reference's answer shapes alone, against the same ceiling.
  for (const s of input.scaleRows ?? []) rows.push(rowOf('fastify', s, input.ceiling));
  for (const run of input.runs) for (const s of run.scenarios) rows.push(rowOf(run.name, s, input.ceiling));
  for (const row of rows) {
    const shape = rows.find((r) => r.backend === 'fastify' && r.id === SHAPE_OF[row.id]);
    // Both against the same ceiling: their ratios' quotient (for paired rows, each the median of its own pairs).
    if (shape?.cpuRatio !== undefined && row.cpuRatio !== undefined) row.shapeRatio = row.cpuRatio / shape.cpuRatio;
  }
  const memory = input.runs.flatMap((r) => (r.memory ? [memoryOf(r.name, r.memory)] : []));
  const allChecksPassed = rows.every((r) => r.checks.every((c) => c.passed));
  const allTargetsMet = rows.every((r) => !r.met || Object.values(r.met).every(Boolean)) && memory.every((m) => m.withinLimit !== false);
  const { runs: _runs, scaleRows: _scale, ...rest } = input;
  return { ...rest, rows, memory, allChecksPassed, allTargetsMet };
}

export function renderReport(r: Report): string {
  const out: string[] = [];
  out.push(`keyfob bench, ${r.date}`);
  out.push(
    `${r.machine.cpu}, ${r.machine.cores} cores, node ${r.machine.node}; ` +
      (r.machine.pinned ? `server pinned to core ${r.machine.serverCore}, load generator to core ${r.machine.loadCore}` : 'taskset missing: nothing pinned'),
  );
  out.push(`${r.method.generator}, ${r.method.connections} connections, ${r.method.seconds} s per scenario after a warm-up`);
  out.push(
    `ceiling runs: ${fmtInt(r.ceiling.before.rps)} req/s (${fmt(r.ceiling.before.cpuUsPerOk, 1)} µs CPU/req) before, ` +
      `${fmtInt(r.ceiling.after.rps)} req/s (${fmt(r.ceiling.after.cpuUsPerOk, 1)} µs CPU/req) after`,
  );
  out.push(
    `ratios: rows with pairs, the median over their pairs of slices (~${SLICE_S} s of the ceiling, then ~${SLICE_S} s of the row); ` +
      'rows without, against the better of the two ceiling runs',
  );
  const drift = Math.abs(r.ceiling.before.rps - r.ceiling.after.rps) / Math.max(r.ceiling.before.rps, r.ceiling.after.rps);
  if (drift > 0.15) {
    out.push(`warning: the ceiling's req/s moved ${Math.round(100 * drift)} % between its two runs (something else used the cores)`);
  }
  out.push('');
  const header = ['backend', 'scenario', 'per s', '×ceil', 'p50 ms', 'p99 ms', 'CPU µs', '×ceil CPU', 'pairs: CPU', '×shape CPU', 'busy srv/gen', 'target', 'met'];
  const body = r.rows.map((row) => {
    const title = row.unit === 'flow' ? `${row.title} [flows]` : row.title;
    if (!row.available) return [row.backend, title, '–', '–', '–', '–', '–', '–', '', '–', '–', '', row.note ?? 'not available'];
    const met = row.met ? Object.entries(row.met).map(([k, v]) => `${k} ${v ? 'yes' : 'NO'}`).join(', ') : '';
    return [
      row.backend,
      title,
      fmtInt(row.rps),
      fmt(row.rpsRatio, row.unit === 'flow' ? 4 : 2),
      fmt(row.p50Ms, 2),
      fmt(row.p99Ms, 2),
      fmt(row.cpuUsPerOk, 1),
      fmt(row.cpuRatio, row.unit === 'flow' ? 4 : 2),
      row.pairs ? `${fmt(Math.min(...row.pairs.cpuRatios), 2)}–${fmt(Math.max(...row.pairs.cpuRatios), 2)} (${row.pairs.cpuRatios.length})` : '',
      row.shapeRatio === undefined ? '' : fmt(row.shapeRatio, 2),
      row.serverBusy === undefined ? '–' : `${Math.round(100 * row.serverBusy)}/${Math.round(100 * (row.generatorBusy ?? 0))}%`,
      row.target === undefined ? '' : `≥ ${row.target.toFixed(2)}`,
      met,
    ];
  });
  out.push(table(header, body));
  for (const s of r.skipped) out.push(`${s.name}: skipped, ${s.unavailable}`);
  out.push('');
  for (const m of r.memory) {
    out.push(
      `memory (${m.backend}): ${m.pins.toLocaleString('en-US')} pending PINs ${m.polled ? 'created and polled' : 'created (not polled: no PIN endpoint)'}: ` +
        `server RSS ${mb(m.rssBeforeBytes)} → ${mb(m.rssAfterBytes)}, ${m.deltaBytes >= 0 ? '+' : ''}${mb(m.deltaBytes)} ` +
        (m.withinLimit === null ? '(not judged against the 100 MB limit: the server never read them)' : `(under 100 MB: ${m.withinLimit ? 'yes' : 'NO'})`),
    );
  }
  const failed = r.rows.flatMap((row) => row.checks.filter((c) => !c.passed).map((c) => `${row.backend} ${row.id}: ${c.what}`));
  out.push('');
  out.push(failed.length === 0 ? 'checks: all passed' : `checks FAILED:\n  ${failed.join('\n  ')}`);
  for (const row of r.rows) for (const c of row.checks) if (c.passed) out.push(`  ok  ${row.backend} ${row.id}: ${c.what}`);
  out.push(r.allTargetsMet ? 'targets: all met' : 'targets: some missed (see "met")');
  return out.join('\n');
}
