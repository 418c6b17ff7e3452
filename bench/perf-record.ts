/**
 * Where keyfob's CPU goes under one scenario, native code included (SQLite, OpenSSL,
 * Node, the kernel), which `node --cpu-prof` (bench/profile.ts) does not see:
 *
 *   npm run bench:perf -- --scenario code-exchange [--seconds 6]
 *        [--delay 4] [--under 'sqlite-storage.js:211' --depth 2] [--rows 30] [--keep] [--root DIR]
 *
 * Starts keyfob pinned to core 0 with `--perf-basic-prof` (so generated JavaScript has
 * names), runs the scenario as the bench does but unpaired, and after `--delay` seconds
 * (its warm-ups) records `perf record -e cpu-clock -F 4000 -g` on the server for
 * `--seconds`. Prints the functions samples stopped in, keyfob's own functions (dist/) by
 * the samples that passed through them, and, for each `--under` pattern, what the
 * outermost frame containing it spent its share on. Shares are of the server's recorded
 * samples; `1 % ≈ … µs` converts them with the scenario's CPU per request. perf must be
 * installed (Debian's linux-perf) and allowed to record (kernel.perf_event_paranoid ≤ 2).
 * `--root` names another keyfob build to profile (its dist/ built), as bench/instructions.ts does.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchOptions } from './options.js';
import { calleesOf, inclusiveShares, parsePerfScript, selfShares, type Share } from './perf-stacks.js';
import { runSingleScenario, SINGLE_SCENARIOS, type SingleScenario } from './single-scenario.js';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const options = benchOptions('perf-record', {
  scenario: { type: 'string' },
  seconds: { type: 'string' },
  delay: { type: 'string' },
  under: { type: 'string', multiple: true },
  depth: { type: 'string' },
  rows: { type: 'string' },
  keep: { type: 'boolean' },
  root: { type: 'string' },
});

function fail(message: string): never {
  process.stderr.write(`perf-record: ${message}\n`);
  process.exit(2);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  const n = Number(value ?? fallback);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} wants a positive number, not ${value}`);
  return n;
}

const scenario = (options.scenario ?? 'code-exchange') as SingleScenario;
if (!SINGLE_SCENARIOS.includes(scenario)) fail(`--scenario is one of ${SINGLE_SCENARIOS.join(', ')}`);
const seconds = positive('seconds', options.seconds, 6);
const delay = positive('delay', options.delay, 4);
const depth = Math.round(positive('depth', options.depth, 1));
const rows = Math.round(positive('rows', options.rows, 30));
const root = resolve(options.root ?? HERE);
if (spawnSync('perf', ['--version'], { stdio: 'ignore' }).status !== 0) fail('perf is not installed (Debian: apt-get install linux-perf)');

function record(pid: number, file: string): Promise<void> {
  const perf = spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '4000', '-g', '-p', String(pid), '-o', file, '--', 'sleep', String(seconds)], { stdio: 'inherit' });
  return new Promise((done, failed) => {
    perf.on('error', failed);
    perf.on('exit', (code) => (code === 0 ? done() : failed(new Error(`perf record exited with ${code}`))));
  });
}

function table(title: string, shares: readonly Share[], usPerPercent: number): string {
  const lines = [title];
  for (const s of shares) lines.push(`  ${(100 * s.share).toFixed(2).padStart(6)} %  ${(100 * s.share * usPerPercent).toFixed(2).padStart(6)} µs  ${s.name.slice(0, 160)}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-perf-'));
  const file = join(dir, 'perf.data');
  // Long enough to cover the delay and the recording.
  const result = await runSingleScenario({
    scenario,
    seconds: Math.ceil(delay + seconds + 2),
    root,
    nodeArgs: ['--perf-basic-prof'],
    during: (kf) => new Promise<void>((done, failed) => setTimeout(() => record(kf.pid, file).then(done, failed), delay * 1000)),
  });
  const script = spawnSync('perf', ['script', '-i', file, '-F', 'comm,ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (script.status !== 0) fail(`perf script failed: ${script.stderr}`);
  const stacks = parsePerfScript(script.stdout);
  const m = result.measurement;
  // The whole run's CPU per request, warm-ups aside: close to the recorded window's.
  const usPerPercent = m ? m.cpuUsPerOk / 100 : 0;
  const out = [
    `${scenario}: ${m ? `${Math.round(m.rps)} /s, ${m.cpuUsPerOk.toFixed(1)} µs of CPU per request; 1 % ≈ ${usPerPercent.toFixed(2)} µs` : result.note}`,
    `${stacks.length} samples of the server over ${seconds} s`,
    '',
    table('where samples stopped (self):', selfShares(stacks, rows), usPerPercent),
    '',
    table("keyfob's own code (dist/), samples passing through:", inclusiveShares(stacks, (n) => n.includes('/dist/'), rows), usPerPercent),
  ];
  for (const frame of options.under ?? []) {
    const { total, callees } = calleesOf(stacks, frame, depth, rows);
    out.push('', table(`under ${frame} (${(100 * total).toFixed(2)} % in all):`, callees, usPerPercent));
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (options.keep) process.stdout.write(`perf data kept: ${file} (perf report -i ${file})\n`);
  else rmSync(dir, { recursive: true, force: true });
}

await main();
