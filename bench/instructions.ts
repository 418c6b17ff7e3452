/**
 * npm run bench:instructions: machine instructions per request on the server's main
 * thread, counted by valgrind's callgrind. A count does not depend on what else the
 * machine is doing, so it tells a change to keyfob's own code from noise where the timed
 * bench cannot (its ratios move by ±0.05 between runs on a shared host). It is a tool for
 * comparing two builds, not a measure of the targets: it leaves out the kernel (a third or
 * more of a request's CPU time), other threads, and time spent waiting on memory, and
 * under valgrind the CPU's SHA instructions are not used, so hashing counts several times
 * what it costs. See bench/README.md, "Counting instructions".
 *
 * Each scenario is warmed up, then counted in WINDOWS windows of N requests each; the
 * median window is reported with the lowest and highest (a window that holds a full
 * garbage collection or a compilation stands out, and the median leaves it aside).
 *
 * Options: --only a,b (some of ceiling, ceiling-cors, ceiling-post, token-validation,
 * code-exchange, pin-polling), --requests N (per window, default 2000), --root DIR (the
 * keyfob build to count, default this checkout; its dist/ must be built), --keep (keep
 * callgrind's dumps and print where, to read with callgrind_annotate), --names (also list
 * where each scenario's instructions go, by function, JavaScript included: see
 * callgrind-names.ts; the server then runs with --perf-basic-prof, which moves the counts a
 * little, so compare builds without it), --rows N (how many functions --names lists, default 30),
 * --caches (callgrind also simulates the CPU's caches, much slower: the median window's
 * first-level instruction and data cache misses per request are printed too; a simulated
 * cache, for comparing two scenarios or builds, not this machine's), --after-tokens N (the
 * PIN-polling server first answers N token checks, as in a full timed run, where the polls
 * come after the token-validation scenario).
 */
import autocannon, { type Options, type Request } from 'autocannon';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStorage } from '../src/storage/open.js';
import { sqliteBackend } from './backends.js';
import { dumpTotals, type CacheMisses } from './callgrind-dump.js';
import { namedSelfCosts, parsePerfMap } from './callgrind-names.js';
import { KEYFOB_READY, keyfobServe } from './keyfob-process.js';
import { benchOptions } from './options.js';
import { freePort, startChild, type Child } from './proc.js';
import { formTokenRequest } from './scenarios/code-exchange.js';
import { PENDING_BODY, userCodes } from './scenarios/pin-polling.js';
import { settingsRequest } from './scenarios/token-validation.js';
import { clientQuery, USER_AGENT } from './scenarios/types.js';
import { createPendingPins, mintAuthCodes, seedFixture } from './seed.js';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SCENARIOS = ['ceiling', 'ceiling-cors', 'ceiling-post', 'token-validation', 'code-exchange', 'pin-polling'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** Connections of the load: fewer than the timed bench's, the server runs some 50 times slower. */
const CONNECTIONS = 8;
/** Pending PINs polled round-robin: at valgrind's pace one pass takes longer than a second, so none is told to slow down. */
const PINS = 20_000;
/** Functions listed per scenario with --names, unless --rows says how many. */
const NAMED_ROWS = 30;
/** Counted windows per scenario, after a warm-up of WARMUP_WINDOWS windows' worth of requests. */
const WINDOWS = 5;
const WARMUP_WINDOWS = 10;

const options = benchOptions('instructions', {
  only: { type: 'string' },
  requests: { type: 'string' },
  root: { type: 'string' },
  keep: { type: 'boolean' },
  names: { type: 'boolean' },
  rows: { type: 'string' },
  caches: { type: 'boolean' },
  'after-tokens': { type: 'string' },
});

/** With --after-tokens N: the PIN server first answers N token checks, as a full timed run's does before its polls. */
const afterTokens = Number(options['after-tokens'] ?? 0);

const log = (s: string) => process.stderr.write(`instructions: ${s}\n`);

/** A load of `amount` requests, each answer's status counted; `check` sees each body where given. */
async function load(opts: Options, amount: number, statuses: Map<number, number>): Promise<void> {
  const result = await autocannon({ ...opts, connections: CONNECTIONS, amount });
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses.set(Number(code), (statuses.get(Number(code)) ?? 0) + stat.count);
  statuses.set(0, (statuses.get(0) ?? 0) + result.errors + result.timeouts);
}

/** The main thread's instruction count in each dump callgrind wrote (`callgrind.out.<pid>.<n>-01`), in dump order. */
function mainThreadInstructions(dir: string): { file: string; total: number; misses?: CacheMisses }[] {
  const files = readdirSync(dir)
    .map((f) => ({ f, m: /\.(\d+)-01$/.exec(f) }))
    .filter((x): x is { f: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]));
  if (files.length === 0) throw new Error(`callgrind wrote no dump for the main thread in ${dir}`);
  return files.map(({ f }) => {
    const totals = dumpTotals(readFileSync(join(dir, f), 'utf8'));
    if (totals === null) throw new Error(`no instruction total in ${f}`);
    return { file: join(dir, f), total: totals.instructions, misses: totals.misses };
  });
}

interface Counted {
  scenario: Scenario;
  /** Instructions per request in each counted window, sorted. */
  windows: number[];
  /** With --caches: the median window's first-level cache misses per request. */
  misses?: CacheMisses;
  /** With --names: the median window's instructions per request by function, most first. */
  named?: { name: string; instructions: number }[];
  problems: string[];
}

const median = <T>(sorted: readonly T[]): T => sorted[Math.floor(sorted.length / 2)]!;

const perfMapOf = (pid: number) => `/tmp/perf-${pid}.map`;

/** One dump's instructions per request by function, generated code named through node's perf map. */
function nameInstructions(dump: string, pid: number, n: number): { name: string; instructions: number }[] {
  const annotated = execFileSync('callgrind_annotate', ['--threshold=100', dump], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const map = existsSync(perfMapOf(pid)) ? parsePerfMap(readFileSync(perfMapOf(pid), 'utf8')) : [];
  if (map.length === 0) log(`no code map at ${perfMapOf(pid)}: generated code stays unnamed`);
  return namedSelfCosts(annotated, map, HERE).rows.map((r) => ({ name: r.name, instructions: r.instructions / n }));
}

/**
 * Runs `server` (a command line) under callgrind with instrumentation off, warms it up,
 * then counts WINDOWS windows of `n` requests each (a dump after each).
 */
async function count(
  scenario: Scenario,
  server: { args: string[]; env: NodeJS.ProcessEnv; ready: RegExp; cwd: string },
  request: (amount: number) => Promise<Options>,
  n: number,
  checkBody?: (body: string) => boolean,
  before?: { opts: Options; amount: number },
): Promise<Counted> {
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-callgrind-'));
  const child: Child = await startChild(
    'valgrind',
    [
      '--tool=callgrind',
      // V8 writes machine code at run time: valgrind must notice code that changes.
      '--smc-check=all-non-file',
      '--instr-atstart=no',
      '--separate-threads=yes',
      ...(options.caches ? ['--cache-sim=yes'] : []),
      `--callgrind-out-file=${join(dir, 'callgrind.out.%p')}`,
      process.execPath,
      // Node writes /tmp/perf-<pid>.map, which names V8's generated code (callgrind-names.ts).
      ...(options.names ? ['--perf-basic-prof'] : []),
      ...server.args,
    ],
    { env: server.env, ready: server.ready, cwd: server.cwd, startS: 120 },
  );
  const statuses = new Map<number, number>();
  let bad = 0;
  const withCheck = (o: Options): Options =>
    checkBody === undefined
      ? o
      : { ...o, requests: (o.requests ?? [{}]).map((r: Request) => ({ ...r, onResponse: (status: number, body: string) => void (status === 200 && checkBody(body) ? 0 : bad++) })) };
  try {
    if (before !== undefined) await load(before.opts, before.amount, statuses);
    await load(withCheck(await request(WARMUP_WINDOWS * n)), WARMUP_WINDOWS * n, statuses);
    execFileSync('callgrind_control', ['--instr=on', String(child.pid)], { stdio: 'ignore' });
    for (let w = 0; w < WINDOWS; w++) {
      // The requests are made before the window opens: only the server's work is counted.
      const opts = withCheck(await request(n));
      execFileSync('callgrind_control', ['--zero', String(child.pid)], { stdio: 'ignore' });
      await load(opts, n, statuses);
      execFileSync('callgrind_control', ['--dump', String(child.pid)], { stdio: 'ignore' });
    }
    const dumps = mainThreadInstructions(dir)
      .slice(-WINDOWS)
      .sort((a, b) => a.total - b.total);
    const windows = dumps.map((d) => Math.round(d.total / n));
    const middle = median(dumps);
    const misses = middle.misses === undefined ? undefined : { instruction: middle.misses.instruction / n, data: middle.misses.data / n };
    const named = options.names ? nameInstructions(middle.file, child.pid, n) : undefined;
    const problems: string[] = [];
    const total = (WARMUP_WINDOWS + WINDOWS) * n + (before?.amount ?? 0);
    const ok = statuses.get(200) ?? 0;
    if (ok !== total) problems.push(`${ok} of ${total} answers were 200 (${JSON.stringify(Object.fromEntries(statuses))})`);
    if (bad > 0) problems.push(`${bad} answers had an unexpected body`);
    return { scenario, windows, misses, named, problems };
  } finally {
    child.proc.kill('SIGKILL');
    await new Promise((r) => (child.proc.exitCode !== null || child.proc.signalCode !== null ? r(null) : child.proc.once('exit', r)));
    if (options.keep) log(`${scenario}: callgrind's dumps kept in ${dir}${options.names ? `, node's code map in ${perfMapOf(child.pid)}` : ''}`);
    else {
      rmSync(dir, { recursive: true, force: true });
      if (options.names) rmSync(perfMapOf(child.pid), { force: true });
    }
  }
}

async function countCeiling(scenario: 'ceiling' | 'ceiling-cors' | 'ceiling-post', n: number): Promise<Counted> {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), CEILING_CORS: scenario === 'ceiling' ? '0' : '1', CEILING_POST: scenario === 'ceiling-post' ? '1' : '0' };
  const url = `http://127.0.0.1:${port}`;
  let k = 0;
  return count(
    scenario,
    { args: ['--import', 'tsx', join(HERE, 'bench/ceiling-server.ts')], env, ready: /^listening \d+/m, cwd: HERE },
    async () =>
      scenario === 'ceiling-post'
        ? { url, requests: [formTokenRequest('0'.repeat(64), 'f'.repeat(64), () => String(k++).padStart(43, '0'))] }
        : settingsRequest(url, '0'.repeat(64), 'f'.repeat(64)),
    n,
  );
}

async function countKeyfob(scenario: 'token-validation' | 'code-exchange' | 'pin-polling', root: string, n: number): Promise<Counted> {
  const backend = sqliteBackend();
  const storage = await openStorage(backend.database);
  try {
    await storage.migrate();
    const fx = await seedFixture(storage);
    const [webPort, apiPort] = [await freePort(), await freePort()];
    const serve = keyfobServe({ database: backend.database, root, webPort, apiPort });
    const url = `http://127.0.0.1:${apiPort}`;
    const server = { args: serve.args, env: serve.env, ready: KEYFOB_READY, cwd: root };
    if (scenario === 'token-validation') return await count(scenario, server, async () => settingsRequest(url, fx.clientId, fx.token), n);
    if (scenario === 'code-exchange') {
      // Every code is sent once; a count bounded run answers each.
      return await count(
        scenario,
        server,
        async (amount) => {
          const codes = await mintAuthCodes(storage, fx, amount);
          let i = 0;
          return { url, requests: [formTokenRequest(fx.clientId, fx.clientSecret, () => codes[i++] ?? 'no-code-left')] };
        },
        n,
        (body) => body.startsWith('{"access_token":"'),
      );
    }
    const codes = userCodes(PINS, 5);
    await createPendingPins(storage, fx.appId, codes);
    const q = clientQuery(fx.clientId);
    let next = 0;
    // The warm-up polls each code five times: what is counted is the steady state, a device polling a code it polled before.
    return await count(
      scenario,
      server,
      async () => ({
        url,
        headers: { 'user-agent': USER_AGENT },
        requests: [{ method: 'GET', setupRequest: (r: Request) => ({ ...r, path: `/oauth/pin/${codes[next++ % codes.length]}?${q}` }) }],
      }),
      n,
      (body) => body === PENDING_BODY,
      afterTokens > 0 ? { opts: settingsRequest(url, fx.clientId, fx.token), amount: afterTokens } : undefined,
    );
  } finally {
    await storage.close();
    await backend.cleanup();
  }
}

async function main(): Promise<void> {
  if (spawnSync('valgrind', ['--version'], { stdio: 'ignore' }).status !== 0 || spawnSync('callgrind_control', ['-h'], { stdio: 'ignore' }).error) {
    log('valgrind (with callgrind_control) is not installed: apt-get install valgrind');
    process.exit(2);
  }
  const n = Number(options.requests ?? 2000);
  const namedRows = Number(options.rows ?? NAMED_ROWS);
  const root = resolve(options.root ?? HERE);
  const onlyArg = options.only;
  const chosen = onlyArg === undefined ? [...SCENARIOS] : (onlyArg.split(',').map((s) => s.trim()) as Scenario[]);
  const unknown = chosen.filter((s) => !SCENARIOS.includes(s));
  if (unknown.length > 0 || !Number.isInteger(n) || n < 100 || !Number.isInteger(namedRows) || namedRows < 1 || !Number.isInteger(afterTokens) || afterTokens < 0) {
    log(`usage: --only ${SCENARIOS.join(',')} --requests N (at least 100) --root DIR --keep --names [--rows N] --caches --after-tokens N`);
    process.exit(2);
  }
  const rows: Counted[] = [];
  for (const scenario of chosen) {
    log(`${scenario}: ${(WARMUP_WINDOWS + WINDOWS) * n} requests under callgrind`);
    rows.push(scenario.startsWith('ceiling') ? await countCeiling(scenario as 'ceiling', n) : await countKeyfob(scenario as 'token-validation', root, n));
  }
  const bare = rows.find((r) => r.scenario === 'ceiling');
  const caches = rows.some((r) => r.misses !== undefined);
  const cacheHead = caches ? '  L1i misses/req  L1d misses/req' : '';
  process.stdout.write(`keyfob build: ${root}\n${WINDOWS} windows of ${n} requests each\n\nscenario          instructions/request (median)  lowest–highest window   ×ceiling${cacheHead}\n`);
  for (const r of rows) {
    const ratio = bare === undefined ? '' : (median(bare.windows) / median(r.windows)).toFixed(3);
    const spread = `${r.windows[0]!.toLocaleString('en-US')}–${r.windows.at(-1)!.toLocaleString('en-US')}`;
    const missCols = r.misses === undefined ? '' : `${Math.round(r.misses.instruction).toLocaleString('en-US').padStart(16)}${Math.round(r.misses.data).toLocaleString('en-US').padStart(16)}`;
    process.stdout.write(`${r.scenario.padEnd(18)}${median(r.windows).toLocaleString('en-US').padStart(29)}  ${spread.padStart(21)}  ${ratio.padStart(8)}${missCols}\n`);
  }
  for (const r of rows) {
    if (r.named === undefined) continue;
    process.stdout.write(`\n${r.scenario}: instructions per request by function (self, median window; * optimized, ^ baseline, ~ interpreted JavaScript)\n`);
    for (const f of r.named.slice(0, namedRows)) process.stdout.write(`${Math.round(f.instructions).toLocaleString('en-US').padStart(9)}  ${f.name.slice(0, 140)}\n`);
  }
  const problems = rows.flatMap((r) => r.problems.map((p) => `${r.scenario}: ${p}`));
  for (const p of problems) process.stdout.write(`FAILED ${p}\n`);
  process.exit(problems.length > 0 ? 1 : 0);
}

await main();
