/**
 * npm run bench: how fast keyfob answers the calls that dominate a deployment, against
 * a bare Fastify ceiling measured on the same machine in the same run. See bench/README.md.
 *
 * Layout: the server under test (ceiling, then keyfob on each backend, then the ceiling
 * again) runs on core 0, beside a second ceiling that each measured row is paired with
 * slice by slice (bench/load.ts; idle between its slices); this process, the load
 * generator, runs on core 1.
 * Options: --seconds N (per scenario, default 6), --no-postgres, --out FILE,
 * --only a,b (some of token-validation, code-exchange, pin-polling, signin-flow).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postgresBackend, sqliteBackend, type Backend } from './backends.js';
import { CONNECTIONS, MEASURE_S } from './load.js';
import { benchOptions } from './options.js';
import { hasTaskset, pinSelf } from './proc.js';
import { buildReport, ceilingOf, renderReport, type BackendSkipped } from './report.js';
import { runBackend, SCENARIOS, type BackendRun, type ScenarioName } from './run-backend.js';
import { runCeiling, startCeiling } from './scenarios/ceiling.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SERVER_CORE = 0;
const LOAD_CORE = 1;

const options = benchOptions('bench', { seconds: { type: 'string' }, 'no-postgres': { type: 'boolean' }, out: { type: 'string' }, only: { type: 'string' } });

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** The whole bench is bounded: a stuck phase ends the run instead of hanging it. */
const WATCHDOG_MS = 12 * 60 * 1000;

async function main(): Promise<void> {
  setTimeout(() => {
    log(`still running after ${WATCHDOG_MS / 60_000} minutes: giving up`);
    process.exit(1);
  }, WATCHDOG_MS).unref();
  const seconds = Number(options.seconds ?? MEASURE_S);
  const pinned = cpus().length >= 2 && pinSelf(LOAD_CORE);
  if (!pinned) log(hasTaskset ? 'fewer than 2 cores: nothing pinned' : 'taskset not found: nothing pinned');

  let only: Set<ScenarioName> | undefined;
  const onlyArg = options.only;
  if (onlyArg !== undefined) {
    const names = onlyArg.split(',').map((s) => s.trim());
    const unknown = names.filter((n) => !(SCENARIOS as readonly string[]).includes(n));
    if (unknown.length > 0) {
      log(`unknown scenario ${unknown.join(', ')}: choose from ${SCENARIOS.join(', ')}`);
      process.exit(2);
    }
    only = new Set(names as ScenarioName[]);
  }

  const backends: Backend[] = [sqliteBackend()];
  const skipped: BackendSkipped[] = [];
  if (!options['no-postgres']) {
    const pg = await postgresBackend();
    if ('backend' in pg) backends.push(pg.backend);
    else skipped.push({ name: pg.name, unavailable: pg.unavailable });
  }

  log('ceiling (before)');
  const before = await runCeiling(ROOT, SERVER_CORE, seconds);
  // The ceiling every other row is paired with, slice by slice (bench/load.ts), running
  // beside the server under test on the same core until the end.
  const pair = await startCeiling(ROOT, SERVER_CORE);
  const runs: BackendRun[] = [];
  const scale = [];
  try {
    log('ceiling + CORS headers (for scale)');
    scale.push(await runCeiling(ROOT, SERVER_CORE, seconds, 'cors', pair));
    if (!only || only.has('code-exchange')) {
      log('ceiling, POST shape (for scale)');
      scale.push(await runCeiling(ROOT, SERVER_CORE, seconds, 'post', pair));
    }
    for (const b of backends) runs.push(await runBackend(ROOT, b, { serverCore: SERVER_CORE, seconds, log, only, pair }));
  } finally {
    await pair.child.stop();
  }
  log('ceiling (after)');
  const after = await runCeiling(ROOT, SERVER_CORE, seconds);

  const date = new Date().toISOString();
  const report = buildReport({
    date,
    machine: { cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, node: process.version, pinned, serverCore: SERVER_CORE, loadCore: LOAD_CORE },
    method: { generator: 'autocannon 8 (in-process)', connections: CONNECTIONS, seconds },
    ceiling: ceilingOf(before.measurement!, after.measurement!),
    runs,
    scaleRows: scale,
    skipped,
  });
  const out = options.out ?? join(ROOT, 'bench/results', `${date.slice(0, 19).replace(/:/g, '-')}Z.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${renderReport(report)}\nJSON: ${out}\n`);
  // Done: keep-alive sockets of the load clients must not hold the process open.
  process.exit(report.allChecksPassed ? 0 : 1);
}

await main();
