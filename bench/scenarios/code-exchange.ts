/**
 * Sign-ins end in a code exchange: POST /oauth/token (reference §5) redeeming
 * pre-minted authorization codes, a different valid code per request. The run is
 * bounded by count (autocannon `amount`), so every code handed out is answered and the
 * books balance exactly: codes sent = 200 answers = codes gone from storage, and a
 * replayed code is refused (single use, §5.4).
 */
import type { Request } from 'autocannon';
import { sha256Hex } from '../../src/util/crypto.js';
import { measure, runLoad, SLICE_S } from '../load.js';
import { inChunks, mintAuthCodes, REDIRECT_URI } from '../seed.js';
import { USER_AGENT, type ScenarioContext, type ScenarioResult } from './types.js';

/** Codes redeemed in the warm-up, which also estimates the rate to size the measured run. */
const WARMUP_CODES = 4000;

/**
 * The exchange's request, `nextCode()` giving each request's code: also what the "POST
 * shape" ceiling row is sent (bench/scenarios/ceiling.ts), so both parse the same fields and lengths.
 */
export function formTokenRequest(clientId: string, clientSecret: string, nextCode: () => string): Request {
  const fixed = `&client_id=${clientId}&client_secret=${clientSecret}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`;
  return {
    method: 'POST',
    path: '/oauth/token?app-name=bench&app-version=1.0',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': USER_AGENT },
    setupRequest(req) {
      return { ...req, body: `grant_type=authorization_code&code=${nextCode()}${fixed}` };
    },
  };
}

function tokenRequest(ctx: ScenarioContext, codes: readonly string[], sent: string[]): Request {
  return formTokenRequest(ctx.fixture.clientId, ctx.fixture.clientSecret, () => {
    const code = codes[sent.length] ?? 'no-code-left';
    sent.push(code);
    return code;
  });
}

export async function runCodeExchange(ctx: ScenarioContext, seconds: number): Promise<ScenarioResult> {
  const url = ctx.kf.apiUrl;
  const checks: ScenarioResult['checks'] = [];

  // Warm-up, then a second run of as many codes at the warmed-up rate, which sizes the
  // measured run to about `seconds` (sized by the first, cold one, it lasted about a second).
  let warmOk = 0;
  let warmS = 0;
  for (let round = 0; round < 2; round++) {
    const warmCodes = await mintAuthCodes(ctx.storage, ctx.fixture, WARMUP_CODES);
    const warmSent: string[] = [];
    const warm = await runLoad({ url, amount: WARMUP_CODES, requests: [tokenRequest(ctx, warmCodes, warmSent)] });
    warmOk += warm.result.statusCodeStats['200']?.count ?? 0;
    warmS = warm.answeredS;
  }
  checks.push({ what: `warm-up: ${2 * WARMUP_CODES} codes, ${warmOk} answered 200`, passed: warmOk === 2 * WARMUP_CODES });
  const rate = WARMUP_CODES / Math.max(warmS, 0.01);
  const n = Math.max(2000, Math.min(300_000, Math.round(rate * seconds)));

  const codes = await mintAuthCodes(ctx.storage, ctx.fixture, n);
  const sent: string[] = [];
  // Paired, in as many slices as a run of `seconds` holds: n is about that many seconds of codes.
  const m = await measure(ctx.kf.pid, { url, amount: n, slices: Math.round(seconds / SLICE_S), requests: [tokenRequest(ctx, codes, sent)] }, undefined, ctx.pair);

  // The books: each code sent once, each answered 200, none left in storage.
  const distinct = new Set(sent).size;
  checks.push({ what: `${n} codes minted, ${sent.length} requests sent, ${distinct} distinct codes`, passed: sent.length === n && distinct === n });
  checks.push({ what: `${m.ok} answered 200, ${m.failed} did not`, passed: m.ok === n && m.failed === 0 });
  // Redeemed codes stay as tombstones until they expire (decision 0070): none may still be fresh.
  const left = (await inChunks(codes, (code) => ctx.storage.consumeAuthCode(sha256Hex(code), Date.now()))).filter((c) => c.kind === 'fresh').length;
  checks.push({ what: `${left} of the ${n} codes still unredeemed in storage afterwards`, passed: left === 0 });

  // Single use (§5.4): a redeemed code is refused.
  const replays = codes.slice(0, 20);
  let refused = 0;
  for (const code of replays) {
    const res = await fetch(`${url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: ctx.fixture.clientId, client_secret: ctx.fixture.clientSecret, redirect_uri: REDIRECT_URI }),
    });
    const body = (await res.json()) as { error?: string };
    if (res.status === 401 && body.error === 'grant_error') refused += 1;
  }
  checks.push({ what: `${refused} of ${replays.length} replayed codes refused with 401 grant_error`, passed: refused === replays.length });

  return { id: 'code-exchange', title: 'POST /oauth/token (a fresh code each)', unit: 'request', available: true, measurement: m, checks };
}
