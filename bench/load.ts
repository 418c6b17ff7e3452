/**
 * One measured load run: autocannon in this process (pinned to the load core), the
 * server's CPU time read from /proc before and after. Only 200 answers count as served,
 * and latency percentiles are taken over 200 answers, in fractions of a millisecond
 * (autocannon's own histogram keeps whole milliseconds only).
 */
import autocannon, { type Options, type Result } from 'autocannon';
import { cpuTimeMs } from './proc.js';

/** Connections kept open by the load generator: enough to keep one core busy, few enough for honest latency. */
export const CONNECTIONS = 32;
export const WARMUP_S = 1.5;
export const MEASURE_S = 6;

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
   * Seconds from the start to the last answer. autocannon's own `duration` ends on its
   * next one-second sample after the last answer, so a run bounded by count (the code
   * exchange's) would count up to a second of idle time as its own.
   */
  answeredS: number;
}

/** Runs autocannon, keeping the latency of every 200 answer and the time of the last answer. */
export async function runLoad(opts: Options, onAnswer?: AnswerListener): Promise<LoadRun> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  const startedAt = performance.now();
  let lastAt = startedAt;
  const tracker = autocannon({ connections: CONNECTIONS, timeout: 10, ...opts });
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
  return { result, latencies: latencies.subarray(0, n).sort(), answeredS: (lastAt - startedAt) / 1000 };
}

export function summarise(run: LoadRun, cpuMs: number, generatorCpuMs: number): Measurement {
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
    generatorBusy: generatorCpuMs / 1000 / durationS,
  };
}

/** CPU time of this process (the load generator), in milliseconds. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs a load against the server process `pid`; its CPU time is read around the run. */
export async function measure(pid: number, opts: Options, onAnswer?: AnswerListener): Promise<Measurement> {
  const cpuBefore = cpuTimeMs(pid);
  const ownBefore = ownCpuMs();
  const run = await runLoad(opts, onAnswer);
  return summarise(run, cpuTimeMs(pid) - cpuBefore, ownCpuMs() - ownBefore);
}

/** A short unmeasured run first, so the JIT has settled and connections are open. */
export async function warmup(opts: Options, seconds = WARMUP_S): Promise<void> {
  await runLoad({ ...opts, duration: seconds });
}
