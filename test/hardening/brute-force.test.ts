/**
 * Brute force, measured: many guesses against sign-in, the /pin entry page, PIN polling
 * and the token endpoint, each asserting the exact attempt at which it is stopped and
 * the answer it then gets (RFC 6749 §10.10, RFC 8628 §5.1–5.2, RFC 9700 §4.x). The
 * measured stop points are printed as a table. Each guesser uses its own address
 * (X-Forwarded-For through KEYFOB_TRUST_PROXY), so the limits are measured one at a time
 * and an innocent address beside them can be shown unaffected.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TOKEN_LIMITS } from '../../src/api/token-route.js';
import { PIN_LIMITS } from '../../src/oauth/grants/pin.js';
import { SIGNIN_MAX_FAILURES_PER_ACCOUNT, SIGNIN_MAX_FAILURES_PER_ADDRESS, SIGNIN_WINDOW_MS } from '../../src/web/routes/account.js';
import { approveAndGetCode } from '../helpers/flows.js';
import { ManualClock, REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { confirmFields } from '../helpers/pin.js';
import { WebAgent } from '../helpers/web-agent.js';

type Json = Record<string, unknown>;

interface Row {
  target: string;
  limit: string;
  stoppedAt: number;
  answer: string;
}

/** Sends guesses until one is refused (status `refused`), at most `max`; returns the 1-based attempt that was refused. */
async function guessUntilRefused(max: number, refused: number, attempt: (i: number) => Promise<Response>, expectBefore: number): Promise<{ at: number; res: Response }> {
  for (let i = 1; i <= max; i += 1) {
    const res = await attempt(i);
    if (res.status === refused) return { at: i, res };
    assert.equal(res.status, expectBefore, `attempt ${i} answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    await res.arrayBuffer().catch(() => undefined);
  }
  throw new Error(`not stopped within ${max} attempts`);
}

const xff = (ip: string) => ({ 'x-forwarded-for': ip });

describe('brute force is stopped, and where', () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 30, 12, 0, 0));
  let kf: TestKeyfob;
  let fx: Fixture;
  const rows: Row[] = [];

  before(async () => {
    kf = await startKeyfob({ clock, env: { KEYFOB_TRUST_PROXY: 'true' } });
    fx = await seedFixture(kf);
  });
  after(async () => {
    await kf?.close();
    const w = [28, 34, 12];
    const line = (c: string[]) => `| ${c[0]!.padEnd(w[0]!)} | ${c[1]!.padEnd(w[1]!)} | ${c[2]!.padEnd(w[2]!)} | ${c[3]} |`;
    console.log(['', 'measured stop points', line(['target', 'limit', 'stopped at', 'answer']), ...rows.map((r) => line([r.target, r.limit, `attempt ${r.stoppedAt}`, r.answer]))].join('\n'));
  });

  it(`sign-in: one account is locked at guess ${SIGNIN_MAX_FAILURES_PER_ACCOUNT + 1}, even for the right password`, async () => {
    const agent = new WebAgent(kf.webUrl);
    const { csrf } = await agent.page('/signin');
    const guess = (password: string) => agent.post('/signin', { _csrf: csrf, username: fx.username, password, next: '/' }, xff('10.1.0.1'));
    const { at, res } = await guessUntilRefused(100, 429, () => guess(`guess-${randomBytes(4).toString('hex')}`), 401);
    assert.equal(at, SIGNIN_MAX_FAILURES_PER_ACCOUNT + 1);
    assert.equal(res.headers.get('retry-after'), String(SIGNIN_WINDOW_MS / 1000));
    assert.match(await res.text(), /Too many failed sign-in attempts/);
    const right = await guess(fx.password);
    assert.equal(right.status, 429, 'the right password is refused too while locked');
    await right.text();
    rows.push({ target: 'sign-in, one account', limit: `${SIGNIN_MAX_FAILURES_PER_ACCOUNT} failures / 15 min`, stoppedAt: at, answer: '429 page, Retry-After 900' });

    clock.advance(SIGNIN_WINDOW_MS);
    const later = await guess(fx.password);
    assert.equal(later.status, 303, 'the account opens again after the window');
  });

  it(`sign-in: one address guessing many accounts is stopped at guess ${SIGNIN_MAX_FAILURES_PER_ADDRESS + 1}`, async () => {
    const agent = new WebAgent(kf.webUrl);
    const { csrf } = await agent.page('/signin');
    const { at, res } = await guessUntilRefused(
      200,
      429,
      (i) => agent.post('/signin', { _csrf: csrf, username: `nobody${i}`, password: 'password-guess', next: '/' }, xff('10.1.0.2')),
      401,
    );
    assert.equal(at, SIGNIN_MAX_FAILURES_PER_ADDRESS + 1);
    await res.text();
    // Another address signs in as usual meanwhile.
    const other = await agent.post('/signin', { _csrf: csrf, username: fx.username, password: fx.password, next: '/' }, xff('10.1.0.3'));
    assert.equal(other.status, 303);
    rows.push({ target: 'sign-in, one address', limit: `${SIGNIN_MAX_FAILURES_PER_ADDRESS} failures / 15 min`, stoppedAt: at, answer: '429 page, Retry-After 900' });
    clock.advance(SIGNIN_WINDOW_MS);
  });

  it(`/pin entry: one account is stopped at wrong code ${PIN_LIMITS.wrongPerAccount + 1}`, async () => {
    const agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
    const { csrf } = await agent.page('/pin');
    // Well-formed codes that no PIN holds (a fresh window and no live PINs: nothing is near them).
    const codes = ['ZZZZZ', 'ZZZZY', 'ZZZZX', 'ZZZZW', 'ZZZZV', 'ZZZZT', 'ZZZZS', 'ZZZZR', 'ZZZZQ', 'ZZZZP', 'ZZZZN', 'ZZZZM', 'ZZZZK'];
    const { at, res } = await guessUntilRefused(codes.length, 429, (i) => agent.post('/pin', { _csrf: csrf, user_code: codes[i - 1]! }, xff('10.2.0.1')), 400);
    assert.equal(at, PIN_LIMITS.wrongPerAccount + 1);
    assert.equal(res.headers.get('retry-after'), String(PIN_LIMITS.wrongWindowMs / 1000));
    assert.match(await res.text(), /Too many wrong codes/);
    rows.push({ target: '/pin entry, one account', limit: `${PIN_LIMITS.wrongPerAccount} wrong / 15 min`, stoppedAt: at, answer: '429 page, Retry-After 900' });
    clock.advance(PIN_LIMITS.wrongWindowMs);
  });

  it(`/pin entry: a live code is locked after ${PIN_LIMITS.maxTriesPerCode} near misses aimed at it`, async () => {
    const init = (await (await fetch(`${kf.apiUrl}/oauth/pin?client_id=${fx.public.clientId}`, { headers: xff('10.2.0.9') })).json()) as { user_code: string };
    const agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
    const { csrf } = await agent.page('/pin');
    const code = init.user_code;
    // Codes one character off the live one, each different.
    const alphabet = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
    const near = [...alphabet].filter((ch) => ch !== code[4]).map((ch) => code.slice(0, 4) + ch);
    let lockedAfter = 0;
    for (let i = 1; i <= PIN_LIMITS.maxTriesPerCode + 2; i += 1) {
      const res = await agent.post('/pin', { _csrf: csrf, user_code: near[i - 1]! }, xff('10.2.0.2'));
      assert.equal(res.status, 400);
      await res.text();
      if ((await kf.storage.findPin(code)) === null) {
        lockedAfter = i;
        break;
      }
    }
    assert.equal(lockedAfter, PIN_LIMITS.maxTriesPerCode);
    const right = await agent.post('/pin', { _csrf: csrf, user_code: code }, xff('10.2.0.2'));
    assert.equal(right.status, 400, 'the right code no longer leads anywhere');
    assert.deepEqual(confirmFields(await right.text()), {});
    rows.push({ target: '/pin entry, one live code', limit: `${PIN_LIMITS.maxTriesPerCode} near misses`, stoppedAt: lockedAfter + 1, answer: 'code deleted; device gets a new one' });
    clock.advance(PIN_LIMITS.wrongWindowMs);
  });

  it(`PIN polling of codes that do not exist: each answers a fresh PIN, and poll ${PIN_LIMITS.createPerAddress + 1} is refused`, async () => {
    const poll = (i: number) =>
      fetch(`${kf.apiUrl}/oauth/pin/${'ZZZZ' + '23456789ABCDEFGHJKMNPQRSTVWXYZ'[i % 30]}?client_id=${fx.public.clientId}`, { headers: xff('10.3.0.1') });
    const seen = new Set<string>();
    const { at, res } = await guessUntilRefused(
      100,
      429,
      async (i) => {
        const r = await poll(i);
        if (r.status === 200) {
          const body = (await r.clone().json()) as Json;
          assert.equal(body.result, 'OK');
          assert.equal(body.device_code, 'DEVICE_CODE');
          seen.add(String(body.user_code));
        }
        return r;
      },
      200,
    );
    assert.equal(at, PIN_LIMITS.createPerAddress + 1);
    assert.equal(seen.size, PIN_LIMITS.createPerAddress, 'each refused guess answered a distinct fresh PIN');
    assert.ok(Number(res.headers.get('retry-after')) > 0);
    assert.deepEqual(await res.json(), { error: 'rate_limit', code: 429, message: 'Too many PINs requested from this address; try again later' });
    // Another address's device starts and polls as usual.
    const other = await fetch(`${kf.apiUrl}/oauth/pin?client_id=${fx.public.clientId}`, { headers: xff('10.3.0.2') });
    assert.equal(other.status, 200);
    await other.text();
    rows.push({ target: 'PIN poll, unknown codes', limit: `${PIN_LIMITS.createPerAddress} PINs / 10 min / address`, stoppedAt: at, answer: '429 rate_limit, Retry-After' });
    clock.advance(PIN_LIMITS.createWindowMs);
  });

  it(`token endpoint: guess ${TOKEN_LIMITS.failuresPerAddress + 1} from one address is refused before it burns a code`, async () => {
    clock.advance(TOKEN_LIMITS.windowMs - (clock.now() % TOKEN_LIMITS.windowMs));
    const token = (body: Record<string, string>, ip: string) =>
      fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...xff(ip) }, body: new URLSearchParams(body).toString() });
    const base = { grant_type: 'authorization_code', client_id: fx.confidential.clientId, client_secret: fx.confidential.clientSecret, redirect_uri: REDIRECT_URI };
    // Guesses of every kind that count: unknown codes, wrong secrets, wrong client ids.
    const guess = (i: number) =>
      token(
        i % 3 === 0
          ? { ...base, code: randomBytes(32).toString('base64url') }
          : i % 3 === 1
            ? { ...base, code: randomBytes(32).toString('base64url'), client_secret: randomBytes(16).toString('hex') }
            : { ...base, code: randomBytes(32).toString('base64url'), client_id: randomBytes(16).toString('hex') },
        '10.4.0.1',
      );
    const { at, res } = await guessUntilRefused(200, 429, async (i) => {
      const r = await guess(i);
      if (r.status !== 429) assert.ok([401, 412].includes(r.status), `guess ${i}: ${r.status}`);
      return r.status === 429 ? r : new Response(null, { status: 401 });
    }, 401);
    assert.equal(at, TOKEN_LIMITS.failuresPerAddress + 1);
    assert.equal(res.headers.get('retry-after'), String(TOKEN_LIMITS.windowMs / 1000));
    assert.deepEqual(await res.json(), { error: 'rate_limit', code: 429, message: 'Too many failed token requests from this address; try again later' });

    // A real code from the blocked address is refused too, but not burned: another address redeems it.
    const agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
    const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
    const blocked = await token({ ...base, code }, '10.4.0.1');
    assert.equal(blocked.status, 429);
    await blocked.text();
    const elsewhere = await token({ ...base, code }, '10.4.0.2');
    assert.equal(elsewhere.status, 200, 'the code survived the refused request; other addresses are unaffected');
    await elsewhere.text();

    // The window ends: the address may exchange again.
    clock.advance(TOKEN_LIMITS.windowMs);
    const again = await token({ ...base, code: await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent) }, '10.4.0.1');
    assert.equal(again.status, 200);
    await again.text();
    rows.push({ target: 'POST /oauth/token', limit: `${TOKEN_LIMITS.failuresPerAddress} failures / min / address`, stoppedAt: at, answer: '429 rate_limit, Retry-After 60' });
  });
});
