/**
 * Soak: a steady mix of token validation (/users/settings), PIN polling and code
 * exchanges (consent + token) against a real `keyfob serve` process for a bounded time,
 * sampling the process's resident memory (/proc/PID/status VmRSS) and request latency
 * every second. Asserts no errors, no sustained memory growth, and a stable p99.
 *
 * Criteria, chosen to hold on a busy 2-core machine and still catch a leak or a slowdown:
 * - memory: the median RSS of the last quarter is at most 10% + 8 MiB above the median of
 *   the second quarter. The first quarter is warm-up (JIT, statement caches, pools), and
 *   medians ignore the garbage collector's saw-tooth. Measured here: RSS settles by a slow
 *   5–8 MiB over 20 s (0.3 MiB/s over a 60 s run) while V8 sizes its heap; the live heap
 *   after a forced GC stays flat (18–19 MiB) over 40 s of the same mix. The bound allows
 *   about 19 MiB between the two medians, which a leak of 1 KiB per request at this rate
 *   (about 3,000 requests a second) exceeds within those 10 s.
 * - latency: the p99 of the last quarter is at most 3x the p99 of the first quarter plus
 *   25 ms. Noise from other processes moves p99 by a few milliseconds to tens; a server
 *   that degrades (a growing list scanned per request, a lock convoy) moves it by multiples.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli, stopChild } from '../helpers/cli.js';
import { freePort } from '../helpers/keyfob.js';
import { callbackParams, hiddenFields, WebAgent } from '../helpers/web-agent.js';

const DURATION_MS = Number(process.env.KEYFOB_SOAK_MS ?? 20_000);
const REDIRECT = 'http://127.0.0.1:8765/callback';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error('no VmRSS');
  return Number(m[1]);
}
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}

describe('soak: a steady mix for a bounded time', () => {
  const db = join(mkdtempSync(join(tmpdir(), 'kf-soak-')), 'keyfob.sqlite');
  let child: Awaited<ReturnType<typeof startCli>>['child'];
  let web = '';
  let api = '';
  let app: { client_id: string; client_secret: string };

  before(async () => {
    await runCli(['users', 'create', '--username', 'soak', '--password', 'soak-password', '--database', db]);
    app = JSON.parse((await runCli(['apps', 'create', '--owner', 'soak', '--name', 'Soak', '--redirect-uri', REDIRECT, '--database', db, '--json'])).stdout);
    const ports = [await freePort(), await freePort()];
    ({ child } = await startCli(['serve', '--database', db, '--web-port', String(ports[0]), '--api-port', String(ports[1]), '--no-demo'], /api origin on/, {
      KEYFOB_RATE_LIMITS: 'false',
    }));
    web = `http://127.0.0.1:${ports[0]}`;
    api = `http://127.0.0.1:${ports[1]}`;
  });
  after(async () => {
    if (child) await stopChild(child);
  });

  it(`holds for ${DURATION_MS / 1000} s with no error, no memory growth and a stable p99`, { timeout: DURATION_MS + 60_000 }, async () => {
    const agent = new WebAgent(web);
    await agent.signIn('soak', 'soak-password');
    const consentUrl = `${web}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT })}`;
    const exchangeOnce = async (): Promise<string> => {
      const page = await agent.get(consentUrl);
      assert.equal(page.status, 200);
      const consent = await agent.post('/oauth/authorize', { ...hiddenFields(await page.text()), decision: 'approve' });
      assert.equal(consent.status, 302);
      const res = await fetch(`${api}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: callbackParams(consent).get('code')!, client_id: app.client_id, client_secret: app.client_secret, redirect_uri: REDIRECT }),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const token = await exchangeOnce();
    const pin = (await (await fetch(`${api}/oauth/pin?client_id=${app.client_id}`)).json()) as { user_code: string };

    const started = Date.now();
    const latencies: Array<{ at: number; ms: number }> = [];
    const errors: string[] = [];
    const counts = { validation: 0, poll: 0, exchange: 0 };
    const timed = async (fn: () => Promise<void>, what: string) => {
      const t0 = performance.now();
      try {
        await fn();
      } catch (err) {
        errors.push(`${what}: ${(err as Error).message}`);
      }
      latencies.push({ at: Date.now() - started, ms: performance.now() - t0 });
    };
    const loop = async (what: keyof typeof counts, fn: () => Promise<void>, pauseMs: number) => {
      while (Date.now() - started < DURATION_MS && errors.length < 20) {
        await timed(fn, what);
        counts[what] += 1;
        if (pauseMs) await sleep(pauseMs);
      }
    };
    const validation = async () => {
      const res = await fetch(`${api}/users/settings?client_id=${app.client_id}`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200);
      assert.equal(typeof ((await res.json()) as { account: { id: number } }).account.id, 'number');
    };
    const poll = async () => {
      const res = await fetch(`${api}/oauth/pin/${pin.user_code}?client_id=${app.client_id}`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { result: string }).result, 'KO');
    };
    const exchange = async () => assert.equal(await exchangeOnce(), token, 'the same token every time');

    const rss: number[] = [];
    const sampler = (async () => {
      while (Date.now() - started < DURATION_MS) {
        rss.push(rssKiB(child.pid!));
        await sleep(1000);
      }
    })();
    await Promise.all([
      ...Array.from({ length: 4 }, () => loop('validation', validation, 0)),
      ...Array.from({ length: 2 }, () => loop('poll', poll, 50)),
      ...Array.from({ length: 2 }, () => loop('exchange', exchange, 0)),
      sampler,
    ]);

    assert.deepEqual(errors, [], 'no request failed');
    assert.equal(child.exitCode, null);
    const q = Math.floor(rss.length / 4);
    const median = (xs: number[]) => quantile(xs, 0.5);
    const rssQ2 = median(rss.slice(q, 2 * q));
    const rssQ4 = median(rss.slice(3 * q));
    const quarter = DURATION_MS / 4;
    const p99First = quantile(latencies.filter((l) => l.at < quarter).map((l) => l.ms), 0.99);
    const p99Last = quantile(latencies.filter((l) => l.at >= 3 * quarter).map((l) => l.ms), 0.99);
    console.log(
      `requests: ${JSON.stringify(counts)} (${Math.round(latencies.length / (DURATION_MS / 1000))}/s) | ` +
        `RSS MiB per second: ${rss.map((k) => (k / 1024).toFixed(0)).join(' ')} | median Q2 ${(rssQ2 / 1024).toFixed(1)} -> Q4 ${(rssQ4 / 1024).toFixed(1)} | ` +
        `p99 ms first quarter ${p99First.toFixed(1)} -> last ${p99Last.toFixed(1)}`,
    );
    assert.ok(rss.length >= 8, 'enough memory samples');
    assert.ok(counts.validation > 100 && counts.poll > 20 && counts.exchange > 20, `a real load ran: ${JSON.stringify(counts)}`);
    assert.ok(rssQ4 <= rssQ2 * 1.1 + 8 * 1024, `memory grew: median RSS ${rssQ2} KiB in Q2, ${rssQ4} KiB in Q4`);
    assert.ok(p99Last <= 3 * p99First + 25, `p99 degraded: ${p99First.toFixed(1)} ms -> ${p99Last.toFixed(1)} ms`);
  });
});
