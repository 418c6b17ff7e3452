/**
 * A whole sign-in as a browser and a client do it: sign-in page, sign-in (an Argon2id
 * verify, by design the slow part), consent page, approval, then the client's code
 * exchange. Several such flows run side by side for a fixed time; a flow counts when the
 * token endpoint answers 200 with a token that works on /users/settings.
 *
 * This is a multi-step, cookie-keeping script, so it runs on fetch rather than autocannon;
 * its latency is the whole flow's.
 */
import { callbackParams, WebAgent } from '../../test/helpers/web-agent.js';
import { ownCpuMs, percentile, type Measurement } from '../load.js';
import { cpuTimeMs } from '../proc.js';
import { REDIRECT_URI } from '../seed.js';
import { clientQuery, type ScenarioContext, type ScenarioResult } from './types.js';

/** Flows in flight at once: a few, like sign-ins arriving together; each Argon2 verify takes 64 MiB. */
const CONCURRENT_FLOWS = 4;

async function oneFlow(ctx: ScenarioContext): Promise<string> {
  const f = ctx.fixture;
  const agent = new WebAgent(ctx.kf.webUrl);
  await agent.signIn(f.username, f.password);
  const authorize = `${ctx.kf.webUrl}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: f.clientId, redirect_uri: REDIRECT_URI, state: 'bench' })}`;
  const code = callbackParams(await agent.answerConsent(authorize, 'approve')).get('code');
  if (!code) throw new Error('no code in the callback');
  const res = await fetch(`${ctx.kf.apiUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: f.clientId, client_secret: f.clientSecret, redirect_uri: REDIRECT_URI }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`token endpoint answered ${res.status}`);
  return body.access_token;
}

export async function runSigninFlow(ctx: ScenarioContext, seconds: number): Promise<ScenarioResult> {
  const checks: ScenarioResult['checks'] = [];
  // Warm-up: one flow per lane; its token must work (the same-token rule keeps it the fixture's token).
  const tokens = await Promise.all(Array.from({ length: CONCURRENT_FLOWS }, () => oneFlow(ctx)));
  const settings = await fetch(`${ctx.kf.apiUrl}/users/settings?${clientQuery(ctx.fixture.clientId)}`, { headers: { authorization: `Bearer ${tokens[0]}` } });
  checks.push({ what: `the token a flow ends with answers /users/settings with ${settings.status}`, passed: settings.status === 200 });
  checks.push({ what: 'every flow got the same token (same-token rule, §5.4)', passed: tokens.every((t) => t === ctx.fixture.token) });

  const latencies: number[] = [];
  let failed = 0;
  const cpuBefore = cpuTimeMs(ctx.kf.pid);
  const ownBefore = ownCpuMs();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENT_FLOWS }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await oneFlow(ctx);
          latencies.push(performance.now() - t0);
        } catch {
          failed += 1;
        }
      }
    }),
  );
  const durationS = (performance.now() - start) / 1000;
  const cpuMs = cpuTimeMs(ctx.kf.pid) - cpuBefore;
  latencies.sort((a, b) => a - b);
  const ok = latencies.length;
  const m: Measurement = {
    rps: ok / durationS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ok,
    failed,
    durationS,
    cpuUsPerOk: ok > 0 ? (cpuMs * 1000) / ok : Number.NaN,
    serverBusy: cpuMs / 1000 / durationS,
    generatorBusy: (ownCpuMs() - ownBefore) / 1000 / durationS,
  };
  checks.push({ what: `${ok} flows completed, ${failed} failed`, passed: failed === 0 && ok > 0 });
  return { id: 'signin-flow', title: 'sign-in → consent → token (whole flow)', unit: 'flow', available: true, measurement: m, checks };
}
