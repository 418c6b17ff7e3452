/**
 * PostgreSQL goes away and comes back while keyfob is under load, and keyfob is not
 * restarted. The machine's real PostgreSQL is shared by other tests, so it is not stopped:
 * the outage is played by cutting a TCP relay between keyfob and the database
 * (test/helpers/tcp-proxy.ts), which refuses new connections and drops open ones, as a
 * stopped or unreachable server does. keyfob runs as its own process (`keyfob serve`).
 *
 * While the database is away every answer is a clean 503 (api: the reference's envelope
 * with Retry-After; web: the error page); once it is back, the same process answers
 * normally again, and at no point does anything answer 500.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, startCli, stopChild } from '../helpers/cli.js';
import { freePort, TEST_SECRET } from '../helpers/keyfob.js';
import { dropSchema, freshSchemaUrl, TEST_PG_URL } from '../helpers/postgres.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { callbackParams, hiddenFields, WebAgent } from '../helpers/web-agent.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const ENV = { KEYFOB_SECRET: TEST_SECRET, KEYFOB_RATE_LIMITS: 'false' };

type Kind = 'validation' | 'pin-poll' | 'exchange' | 'web-page';
interface Sample {
  kind: Kind;
  start: number;
  end: number;
  status: number;
  /** The body had the shape expected for its status. */
  shaped: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PostgreSQL stopped and started under load', () => {
  const direct = freshSchemaUrl('outload');
  const target = new URL(TEST_PG_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  let child: Awaited<ReturnType<typeof startCli>>['child'] | null = null;
  let output: () => string = () => '';
  let web = '';
  let api = '';
  let app: { client_id: string; client_secret: string };

  before(async () => {
    await runCli(['users', 'create', '--username', 'outage', '--password', 'outage-password', '--database', direct], ENV);
    app = JSON.parse((await runCli(['apps', 'create', '--owner', 'outage', '--name', 'Outage', '--redirect-uri', REDIRECT, '--database', direct, '--json'], ENV)).stdout);
    const port = await proxy.start();
    const viaProxy = new URL(direct);
    viaProxy.port = String(port);
    const ports = [await freePort(), await freePort()];
    ({ child, output } = await startCli(['serve', '--database', viaProxy.toString(), '--web-port', String(ports[0]), '--api-port', String(ports[1]), '--no-demo'], /api origin on/, ENV));
    web = `http://127.0.0.1:${ports[0]}`;
    api = `http://127.0.0.1:${ports[1]}`;
  });
  after(async () => {
    await proxy.start().catch(() => undefined);
    if (child) await stopChild(child);
    await proxy.cut();
    await dropSchema(direct);
  });

  it('answers 503 while the database is away, recovers without a restart, never 500', async () => {
    const agent = new WebAgent(web);
    await agent.signIn('outage', 'outage-password');
    const body = (code: string) =>
      JSON.stringify({ grant_type: 'authorization_code', code, client_id: app.client_id, client_secret: app.client_secret, redirect_uri: REDIRECT });
    const consentUrl = `${web}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: app.client_id, redirect_uri: REDIRECT })}`;
    const firstCode = callbackParams(await agent.answerConsent(consentUrl, 'approve')).get('code')!;
    const token = ((await (await fetch(`${api}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(firstCode) })).json()) as { access_token: string }).access_token;
    const pin = (await (await fetch(`${api}/oauth/pin?client_id=${app.client_id}`)).json()) as { user_code: string };
    const pid = child!.pid;

    const samples: Sample[] = [];
    const errors: string[] = [];
    let stop = false;
    const isEnvelope503 = async (res: Response) => {
      const b = (await res.json()) as Record<string, unknown>;
      return b.error === 'service_unavailable' && b.code === 503 && res.headers.get('retry-after') === '5';
    };
    const isPage503 = async (res: Response) => /cannot reach its database/.test(await res.text()) && /text\/html/.test(res.headers.get('content-type') ?? '');
    const record = (kind: Kind, start: number, status: number, shaped: boolean): void => {
      samples.push({ kind, start, end: Date.now(), status, shaped });
    };

    const loops: Record<Kind, () => Promise<void>> = {
      async validation() {
        const start = Date.now();
        const res = await fetch(`${api}/users/settings?client_id=${app.client_id}`, { headers: { authorization: `Bearer ${token}` } });
        record('validation', start, res.status, res.status === 200 ? typeof ((await res.json()) as { account?: unknown }).account === 'object' : res.status === 503 ? await isEnvelope503(res) : (await res.text(), false));
      },
      async 'pin-poll'() {
        const start = Date.now();
        const res = await fetch(`${api}/oauth/pin/${pin.user_code}?client_id=${app.client_id}`);
        record('pin-poll', start, res.status, res.status === 200 ? ((await res.json()) as { result?: unknown }).result === 'KO' : res.status === 503 ? await isEnvelope503(res) : (await res.text(), false));
      },
      async exchange() {
        const start = Date.now();
        const page = await agent.get(consentUrl);
        if (page.status !== 200) return record('exchange', start, page.status, page.status === 503 && (await isPage503(page)));
        const consent = await agent.post('/oauth/authorize', { ...hiddenFields(await page.text()), decision: 'approve' });
        if (consent.status !== 302) return record('exchange', start, consent.status, consent.status === 503 && (await isPage503(consent)));
        const res = await fetch(`${api}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(callbackParams(consent).get('code')!) });
        record('exchange', start, res.status, res.status === 200 ? ((await res.json()) as { access_token?: unknown }).access_token === token : res.status === 503 ? await isEnvelope503(res) : (await res.text(), false));
      },
      async 'web-page'() {
        const start = Date.now();
        const res = await agent.get('/', { accept: 'text/html' });
        record('web-page', start, res.status, res.status === 200 ? /outage/.test(await res.text()) : res.status === 503 ? await isPage503(res) : (await res.text(), false));
      },
    };
    const workers = (Object.keys(loops) as Kind[]).flatMap((kind) =>
      [0, 1].map(async () => {
        while (!stop) {
          try {
            await loops[kind]();
          } catch (err) {
            // A dropped connection is a failure like any other: recorded, judged at the end.
            record(kind, Date.now(), -1, false);
            errors.push(`${kind}: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`);
          }
          await sleep(kind === 'pin-poll' ? 100 : 10);
        }
      }),
    );

    // Phase 1: up. Phase 2: down (after a short settle for requests already in flight). Phase 3: back.
    await sleep(1500);
    const cutAt = Date.now();
    await proxy.cut();
    await sleep(2500);
    const backAt = Date.now();
    await proxy.start();
    let recoveredAt = 0;
    while (Date.now() - backAt < 10_000) {
      const s = samples.filter((x) => x.start > backAt && x.status === 200);
      if ((['validation', 'pin-poll', 'exchange', 'web-page'] as Kind[]).every((k) => s.some((x) => x.kind === k))) {
        recoveredAt = Date.now();
        break;
      }
      await sleep(50);
    }
    if (recoveredAt > 0) await sleep(1500);
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(errors.slice(0, 5), [], `requests failed without an answer; keyfob said:\n${output().slice(-3000)}`);
    assert.ok(recoveredAt > 0, 'every kind of request succeeded again within 10 s of the database returning');

    assert.deepEqual(errors.slice(0, 5), [], `requests failed without an answer; keyfob said:\n${output().slice(-3000)}`);
    assert.equal(child!.exitCode, null, 'keyfob kept running');
    assert.equal(child!.pid, pid, 'the same process, never restarted');
    const bad = samples.filter((s) => s.status >= 500 && s.status !== 503);
    assert.deepEqual(bad, [], 'nothing answered 500');
    const settle = 300;
    // A request belongs to a phase when it ran wholly inside it (an exchange is three requests).
    const up = samples.filter((s) => s.end < cutAt);
    const down = samples.filter((s) => s.start > cutAt + settle && s.end < backAt);
    const again = samples.filter((s) => s.start > recoveredAt);
    const summary = (xs: Sample[]) => (['validation', 'pin-poll', 'exchange', 'web-page'] as Kind[]).map((k) => `${k}=${xs.filter((x) => x.kind === k).length}`).join(' ');
    console.log(`before: ${summary(up)} | while down: ${summary(down)} | after: ${summary(again)}`);
    for (const [phase, xs, status] of [
      ['before the outage', up, 200],
      ['while the database was away', down, 503],
      ['after it came back', again, 200],
    ] as const) {
      for (const k of ['validation', 'pin-poll', 'exchange', 'web-page'] as Kind[]) assert.ok(xs.some((x) => x.kind === k), `${phase}: some ${k} requests ran`);
      const wrong = xs.filter((x) => x.status !== status || !x.shaped);
      assert.deepEqual(wrong, [], `${phase}: every answer was a well-formed ${status}`);
    }
  });
});
