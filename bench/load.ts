/**
 * One measured load run: autocannon in this process (pinned to the load core), the
 * server's CPU time read from /proc before and after. Only 200 answers count as served,
 * and latency percentiles are taken over 200 answers, in fractions of a millisecond
 * (autocannon's own histogram keeps whole milliseconds only).
 *
 * Paired with a ceiling (measure's `pair`), the run is cut into slices of about a second,
 * each after a slice of load on a bare-Fastify ceiling kept running on the same core: each
 * pair of slices gives a ratio taken under the same conditions of the machine, and the
 * row's ratio is their median (bench/README.md, "Paired slices"; decision 0099).
 */
import autocannon, { type Options, type Result } from 'autocannon';
import { cpuTimeMs } from './proc.js';

/** Connections kept open by the load generator: enough to keep one core busy, few enough for honest latency. */
export const CONNECTIONS = 32;
export const WARMUP_S = 1.5;
export const MEASURE_S = 6;
/** A paired run's slices last about this long, the ceiling's exactly. */
export const SLICE_S = 1;

export interface Measurement {
  /** 200 answers per second over the measured window. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  /** Answers other than 200, errors and timeouts: a healthy run has none. */
  failed: number;
  durationS: number;
  /** Server CPU time (user + system, all threads) per 200 answer, in microseconds. */
  cpuUsPerOk: number;
  /** Share of one core the server used over the window (1 = saturated). */
  serverBusy: number;
  /** Share of one core the load generator used (near 1: the generator, not the server, set the pace). */
  generatorBusy: number;
  /** Present when the run was paired with a ceiling: the ratios of each pair of slices, in order. */
  pairs?: Pairs;
}

/** A bare-Fastify ceiling server left running beside the server under test (bench/scenarios/ceiling.ts). */
export interface PairedCeiling {
  pid: number;
  request: Options;
}

export interface Pairs {
  /** Per pair: the ceiling slice's CPU per request / this run's slice's (1 = as cheap). */
  cpuRatios: number[];
  /** Per pair: this run's slice's 200 answers per second / the ceiling slice's. */
  rpsRatios: number[];
  /** The ceiling's slices taken together. */
  ceiling: Measurement;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Sees every answer's status and size in bytes (headers and body). Cheaper for the load
 * generator than autocannon's onResponse, which collects every body as a string.
 */
export type AnswerListener = (status: number, bytes: number) => void;

/** One load run: autocannon's result, the latency of every 200 answer, and the time until the last answer. */
export interface LoadRun {
  result: Result;
  latencies: Float64Array;
  /**
   * Seconds from the start (once autocannon's clients are made) to the last answer.
   * autocannon's own `duration` ends on its next one-second sample after the last answer,
   * so a run bounded by count (the code exchange's) would count up to a second of idle
   * time as its own.
   */
  answeredS: number;
  /** This process's CPU time over the same span, in milliseconds: the load generator's. */
  generatorCpuMs: number;
}

/** Runs autocannon, keeping the latency of every 200 answer and the time of the last answer. */
export async function runLoad(opts: Options, onAnswer?: AnswerListener): Promise<LoadRun> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  const tracker = autocannon({ connections: CONNECTIONS, timeout: 10, ...opts });
  // Taken after autocannon has made its clients, which it does before sending anything:
  // building a few thousand requests per client (the PIN scenario's) takes a noticeable
  // part of a second, during which the server waits, and is not the server's time.
  const startedAt = performance.now();
  const ownBefore = ownCpuMs();
  let lastAt = startedAt;
  tracker.on('response', (_client, status, bytes, ms) => {
    lastAt = performance.now();
    onAnswer?.(status, bytes);
    if (status !== 200) return;
    if (n === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[n++] = ms;
  });
  const result = await tracker;
  return { result, latencies: latencies.subarray(0, n).sort(), answeredS: (lastAt - startedAt) / 1000, generatorCpuMs: ownCpuMs() - ownBefore };
}

/** One run's figures; `cpuMs`: the server's CPU time over it. */
export function summarise(run: LoadRun, cpuMs: number): Measurement {
  const { result, latencies } = run;
  const ok = result.statusCodeStats['200']?.count ?? 0;
  const all = Object.values(result.statusCodeStats).reduce((sum, s) => sum + s.count, 0);
  const durationS = run.answeredS;
  return {
    rps: ok / durationS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ok,
    failed: all - ok + result.errors + result.timeouts,
    durationS,
    cpuUsPerOk: ok > 0 ? (cpuMs * 1000) / ok : Number.NaN,
    serverBusy: cpuMs / 1000 / durationS,
    generatorBusy: run.generatorCpuMs / 1000 / durationS,
  };
}

/** CPU time of this process (the load generator), in milliseconds. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs a load against the server process `pid`; its CPU time is read around the run. */
export async function measure(pid: number, opts: Options & { slices?: number }, onAnswer?: AnswerListener, pair?: PairedCeiling): Promise<Measurement> {
  if (pair !== undefined) return measurePaired(pid, opts, pair, onAnswer);
  const { slices: _slices, ...load } = opts;
  const { run, cpuMs } = await timedRun(pid, load, onAnswer);
  return summarise(run, cpuMs);
}

/** A load run and the server's CPU time over it. */
interface TimedRun {
  run: LoadRun;
  cpuMs: number;
}

async function timedRun(pid: number, opts: Options, onAnswer?: AnswerListener): Promise<TimedRun> {
  const cpuBefore = cpuTimeMs(pid);
  const run = await runLoad(opts, onAnswer);
  return { run, cpuMs: cpuTimeMs(pid) - cpuBefore };
}

/** The median of some numbers (the mean of the middle two for an even count). */
export const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The median of a paired run's CPU ratios and of its req/s ratios. */
export function pairedRatios(pairs: Pairs): { cpu: number; rps: number } {
  return { cpu: median(pairs.cpuRatios), rps: median(pairs.rpsRatios) };
}

/**
 * Slices taken together: counts, times and CPU added up, latency percentiles over every
 * 200 answer of every slice. `parts`: each slice's own figures, in the same order.
 */
function combine(slices: readonly TimedRun[], parts: readonly Measurement[]): Measurement {
  const latencies = new Float64Array(slices.reduce((n, s) => n + s.run.latencies.length, 0));
  let at = 0;
  for (const s of slices) {
    latencies.set(s.run.latencies, at);
    at += s.run.latencies.length;
  }
  latencies.sort();
  const ok = parts.reduce((n, p) => n + p.ok, 0);
  const durationS = parts.reduce((n, p) => n + p.durationS, 0);
  const cpuMs = slices.reduce((n, s) => n + s.cpuMs, 0);
  const generatorCpuMs = slices.reduce((n, s) => n + s.run.generatorCpuMs, 0);
  return {
    rps: ok / durationS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ok,
    failed: parts.reduce((n, p) => n + p.failed, 0),
    durationS,
    cpuUsPerOk: ok > 0 ? (cpuMs * 1000) / ok : Number.NaN,
    serverBusy: cpuMs / 1000 / durationS,
    generatorBusy: generatorCpuMs / 1000 / durationS,
  };
}

/**
 * The run cut into slices, each right after a SLICE_S slice of load on the ceiling: the
 * machine's other work comes and goes over seconds (bench/README.md), so a ratio of two
 * runs minutes apart mostly measures that; two slices a second apart see the same machine.
 * A run bounded by time is cut into slices of about SLICE_S; one bounded by a count (every
 * code answered) into as many equal parts as `opts.slices` says. Requests continue from
 * slice to slice (a scenario's request builders keep their place).
 */
async function measurePaired(pid: number, opts: Options & { slices?: number }, pair: PairedCeiling, onAnswer?: AnswerListener): Promise<Measurement> {
  const { slices: wanted, ...load } = opts;
  const byCount = load.amount !== undefined;
  const seconds = Number(load.duration ?? MEASURE_S);
  const count = byCount ? Math.max(1, Math.min(wanted ?? 1, load.amount!)) : Math.max(1, Math.round(seconds / SLICE_S));
  const ceiling: TimedRun[] = [];
  const own: TimedRun[] = [];
  let sent = 0;
  for (let i = 0; i < count; i++) {
    ceiling.push(await timedRun(pair.pid, { ...pair.request, duration: SLICE_S }));
    let slice: Options;
    if (byCount) {
      const amount = Math.round((load.amount! * (i + 1)) / count) - sent;
      sent += amount;
      slice = { ...load, amount };
    } else slice = { ...load, duration: seconds / count };
    own.push(await timedRun(pid, slice, onAnswer));
  }
  const ceilingParts = ceiling.map((s) => summarise(s.run, s.cpuMs));
  const ownParts = own.map((s) => summarise(s.run, s.cpuMs));
  return {
    ...combine(own, ownParts),
    pairs: {
      cpuRatios: ownParts.map((p, i) => ceilingParts[i]!.cpuUsPerOk / p.cpuUsPerOk),
      rpsRatios: ownParts.map((p, i) => p.rps / ceilingParts[i]!.rps),
      ceiling: combine(ceiling, ceilingParts),
    },
  };
}

/** A short unmeasured run first, so the JIT has settled and connections are open. */
export async function warmup(opts: Options, seconds = WARMUP_S): Promise<void> {
  await runLoad({ ...opts, duration: seconds });
}
