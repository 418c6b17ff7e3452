import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { PIN_LIMITS } from '../../src/oauth/grants/pin.js';
import { approveAndGetCode, getSettings, postToken } from '../helpers/flows.js';
import { ManualClock, REDIRECT_URI, seedFixture, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { answerPin, confirmFields, enterCode, pollPin, requestPin, startPinOk } from '../helpers/pin.js';
import { WebAgent } from '../helpers/web-agent.js';
import { dropSchema, freshSchemaUrl } from '../helpers/postgres.js';
import { startSignedIn } from '../helpers/signed-in.js';

const INIT_KEYS = ['result', 'device_code', 'user_code', 'verification_uri', 'verification_url', 'expires_in', 'interval'];
const CODE = /^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{5}$/;

function assertInitShape(kf: TestKeyfob, body: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(body), INIT_KEYS);
  assert.equal(body.result, 'OK');
  assert.equal(body.device_code, 'DEVICE_CODE');
  assert.match(String(body.user_code), CODE);
  assert.equal(body.verification_uri, `${kf.webUrl}/pin`);
  assert.equal(body.verification_url, `${kf.webUrl}/pin`);
  assert.equal(body.expires_in, 900);
  assert.equal(body.interval, 5);
}

// The whole flow on both storages: PostgreSQL reads a poll's client and PIN in one query (decision 0089).
for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`PIN flow (reference §7) on ${backend}`, () => {
    let kf: TestKeyfob;
    let fx: Fixture;
    let clock: ManualClock;
    let agent: WebAgent;

    const database = backend === 'postgres' ? freshSchemaUrl('pin') : undefined;

    before(async () => {
      clock = new ManualClock(Date.UTC(2026, 10, 30, 12, 0, 0));
      ({ kf, fx, agent } = await startSignedIn({ clock, ...(database ? { database } : {}) }, { redirectUris: [REDIRECT_URI, 'https://example.com/connected'] }));
    });
    after(async () => {
      await kf.close();
      if (database) await dropSchema(database);
    });
    // Every test starts in fresh rate-limit windows; PINs from earlier tests have expired.
    beforeEach(() => clock.advance(PIN_LIMITS.wrongWindowMs + 60_000));

    describe('GET /oauth/pin', () => {
      it('answers the reference body with client_id in the query, uncached', async () => {
        const res = await requestPin(kf, fx.public.clientId, { 'app-name': 'kodi-test', 'app-version': '1.0' });
        assert.equal(res.status, 200);
        assert.match(String(res.headers.get('content-type')), /^application\/json/);
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assert.equal(res.headers.get('pragma'), 'no-cache');
        assertInitShape(kf, (await res.json()) as Record<string, unknown>);
      });

      it('accepts client_id as the simkl-api-key header', async () => {
        const res = await requestPin(kf, fx.confidential.clientId, {}, { header: true });
        assert.equal(res.status, 200);
        assertInitShape(kf, (await res.json()) as Record<string, unknown>);
      });

      it('gives different codes to successive requests', async () => {
        const codes = new Set<string>();
        for (let i = 0; i < 10; i += 1) codes.add((await startPinOk(kf, fx.public.clientId)).user_code);
        assert.equal(codes.size, 10);
      });

      it('refuses an unknown or missing client_id with 412 client_id_failed', async () => {
        for (const url of [`${kf.apiUrl}/oauth/pin?client_id=nope`, `${kf.apiUrl}/oauth/pin`]) {
          const res = await fetch(url);
          assert.equal(res.status, 412);
          assert.deepEqual(await res.json(), { error: 'client_id_failed', code: 412, message: 'Your client_id is wrong. Try another one' });
        }
      });

      it('refuses an OAuth 2.0 client_id with 400 unauthorized_client naming /oauth2/device', async () => {
        const v2 = await kf.storage.createApp({ clientId: 'v2-app-pin', ownerId: fx.userId, name: 'V2', redirectUris: [], secretHash: null, dialect: 'v2', createdAt: clock.now() });
        const res = await requestPin(kf, v2.clientId);
        assert.equal(res.status, 400);
        assert.deepEqual(await res.json(), {
          error: 'unauthorized_client',
          code: 400,
          message: 'This client_id is an OAuth 2.0 app: use POST /oauth2/device instead of /oauth/pin',
        });
      });

      it('accepts a registered redirect and refuses any other with 403 redirect_failed', async () => {
        const ok = await requestPin(kf, fx.public.clientId, { redirect: 'https://example.com/connected' });
        assert.equal(ok.status, 200);
        for (const bad of ['https://example.com/connected/', 'https://evil.example/connected', 'HTTPS://example.com/connected']) {
          const res = await requestPin(kf, fx.public.clientId, { redirect: bad });
          assert.equal(res.status, 403);
          const body = (await res.json()) as Record<string, unknown>;
          assert.equal(body.error, 'redirect_failed');
          assert.equal(body.code, 403);
        }
      });
    });

    describe('GET /oauth/pin/{user_code}', () => {
      it('says "Authorization pending" until approved, then hands the token once', async () => {
        const pin = await startPinOk(kf, fx.public.clientId, { 'app-name': 'kodi-test', 'app-version': '2.1' });
        const pending = await pollPin(kf, fx.public.clientId, pin.user_code);
        assert.equal(pending.status, 200);
        assert.deepEqual(pending.body, { result: 'KO', message: 'Authorization pending' });

        const done = await answerPin(agent, pin.user_code, 'approve');
        assert.equal(done.status, 200);
        assert.match(await done.text(), /You can return to your device/);

        clock.advance(5000);
        const ok = await pollPin(kf, fx.public.clientId, pin.user_code);
        assert.equal(ok.status, 200);
        assert.deepEqual(Object.keys(ok.body), ['result', 'access_token']);
        assert.equal(ok.body.result, 'OK');
        const token = String(ok.body.access_token);
        assert.match(token, /^[0-9a-f]{64}$/);
        const settings = await getSettings(kf, token, fx.public.clientId);
        assert.equal(settings.status, 200);
        assert.equal(((await settings.json()) as { account: { id: number } }).account.id, fx.userId);

        // §7.2: the code is gone after collection; the next poll gets a new code in the init shape.
        clock.advance(5000);
        const again = await pollPin(kf, fx.public.clientId, pin.user_code);
        assertInitShape(kf, again.body);
        assert.notEqual(again.body.user_code, pin.user_code);
      });

      it('keeps every answer out of caches, with Pragma on those that carry a code or a token (decision 0102)', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        const uncached = (answer: { headers: Headers }, pragma: string | null) => {
          assert.equal(answer.headers.get('cache-control'), 'no-store');
          assert.equal(answer.headers.get('pragma'), pragma);
        };
        const first = await pollPin(kf, fx.public.clientId, pin.user_code);
        assert.deepEqual(first.body, { result: 'KO', message: 'Authorization pending' });
        uncached(first, null);
        clock.advance(5000);
        const steady = await pollPin(kf, fx.public.clientId, pin.user_code);
        assert.deepEqual(steady.body, { result: 'KO', message: 'Authorization pending' });
        uncached(steady, null);
        const slow = await pollPin(kf, fx.public.clientId, pin.user_code);
        assert.deepEqual(slow.body, { result: 'KO', message: 'Slow down' });
        uncached(slow, null);
        assert.equal((await answerPin(agent, pin.user_code, 'approve')).status, 200);
        clock.advance(5000);
        const token = await pollPin(kf, fx.public.clientId, pin.user_code);
        assert.equal(token.body.result, 'OK');
        assert.match(String(token.body.access_token), /^[0-9a-f]{64}$/);
        uncached(token, 'no-cache');
        clock.advance(5000);
        const fresh = await pollPin(kf, fx.public.clientId, pin.user_code);
        assertInitShape(kf, fresh.body);
        uncached(fresh, 'no-cache');
      });

      it('answers "Slow down" to polls less than a second apart, and normally at one second even inside interval', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
        clock.advance(999);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Slow down' });
        clock.advance(1);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
        // The official Kodi add-on polls every 4 s although interval is 5.
        clock.advance(4000);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
        clock.advance(1000);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
        // Later answers are remembered in memory, not written (decision 0080): the rule still holds.
        clock.advance(500);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Slow down' });
        clock.advance(500);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
        // For two minutes of polls (the memory of answers keeps a live PIN's, decision 0095).
        for (let elapsed = 0; elapsed <= 120_000; elapsed += 4500) {
          clock.advance(4000);
          assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
          clock.advance(500);
          assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Slow down' });
        }
      });

      it('accepts the code in any case and with dashes when polled', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        const typed = `${pin.user_code.slice(0, 2).toLowerCase()}-${pin.user_code.slice(2)}`;
        assert.deepEqual((await pollPin(kf, fx.public.clientId, typed)).body, { result: 'KO', message: 'Authorization pending' });
      });

      it('gives a fresh PIN for an unknown or malformed code', async () => {
        for (const code of ['ZZZZZ', '00000', 'x', 'ABCDEFGHIJKLMNOP']) {
          const res = await pollPin(kf, fx.public.clientId, code);
          assert.equal(res.status, 200);
          assertInitShape(kf, res.body);
        }
      });

      it('gives a fresh PIN for an expired code, and the expired code no longer works on /pin', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        clock.advance(899_000);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
        clock.advance(1000);
        const { res } = await enterCode(agent, pin.user_code);
        assert.equal(res.status, 400);
        const dead = await pollPin(kf, fx.public.clientId, pin.user_code);
        assertInitShape(kf, dead.body);
        assert.notEqual(dead.body.user_code, pin.user_code);
      });

      it('is bound to the client that created the code: another client_id learns nothing and changes nothing', async () => {
        const pending = await startPinOk(kf, fx.public.clientId);
        const probe = await pollPin(kf, fx.confidential.clientId, pending.user_code);
        assertInitShape(kf, probe.body);
        assert.notEqual(probe.body.user_code, pending.user_code);
        assert.equal((await kf.storage.findPin(pending.user_code))?.lastPolledAt, null);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pending.user_code)).body, { result: 'KO', message: 'Authorization pending' });

        const pin = await startPinOk(kf, fx.public.clientId);
        await answerPin(agent, pin.user_code, 'approve');
        const other = await pollPin(kf, fx.confidential.clientId, pin.user_code);
        assertInitShape(kf, other.body);
        assert.notEqual(other.body.user_code, pin.user_code);
        // The rightful client still collects, not slowed down by the other client's poll.
        const mine = await pollPin(kf, fx.public.clientId, pin.user_code);
        assert.equal(mine.body.result, 'OK');
        assert.match(String(mine.body.access_token), /^[0-9a-f]{64}$/);
      });

      it('refuses an unknown client_id with 412 before looking at the code', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        const res = await fetch(`${kf.apiUrl}/oauth/pin/${pin.user_code}?client_id=nope`);
        assert.equal(res.status, 412);
        assert.deepEqual(await res.json(), { error: 'client_id_failed', code: 412, message: 'Your client_id is wrong. Try another one' });
      });

      it('is not held to the per-second API limit per client_id: many devices of one app poll at once', async () => {
        const pins = await Promise.all(Array.from({ length: 15 }, () => startPinOk(kf, fx.public.clientId)));
        const polls = await Promise.all(pins.map((p) => pollPin(kf, fx.public.clientId, p.user_code)));
        for (const p of polls) assert.deepEqual(p.body, { result: 'KO', message: 'Authorization pending' });
      });
    });

    describe('approval', () => {
      it('issues the same token as the authorization code flow for the same user and app, shown in Connected Apps', async () => {
        const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
        const tokenRes = await postToken(kf, { grant_type: 'authorization_code', code, client_id: fx.confidential.clientId, client_secret: fx.confidential.clientSecret, redirect_uri: REDIRECT_URI });
        const viaCode = ((await tokenRes.json()) as { access_token: string }).access_token;

        const pin = await startPinOk(kf, fx.confidential.clientId, { 'app-name': 'kodi-test' });
        await answerPin(agent, pin.user_code, 'approve');
        const ok = await pollPin(kf, fx.confidential.clientId, pin.user_code);
        assert.equal(ok.body.access_token, viaCode);

        const connected = await kf.storage.listConnectedApps(fx.userId);
        const row = connected.find((c) => c.clientId === fx.confidential.clientId);
        assert.ok(row);
        assert.equal(row.grant.flow, 'pin');
        assert.equal(row.grant.appName, 'kodi-test');
        // Revoking in Connected Apps kills the PIN-obtained token (§8).
        assert.equal(await kf.storage.revokeGrant(row.grant.id, fx.userId, clock.now()), true);
        assert.equal((await getSettings(kf, viaCode, fx.confidential.clientId)).status, 401);
      });

      it('sends the browser to the PIN redirect after approval', async () => {
        const pin = await startPinOk(kf, fx.public.clientId, { redirect: 'https://example.com/connected' });
        const { res, html } = await enterCode(agent, pin.user_code);
        assert.equal(res.status, 200);
        // The confirm form may lead there, so the CSP allows it as a form-action.
        assert.match(String(res.headers.get('content-security-policy')), /form-action 'self' https:\/\/example\.com;/);
        const done = await agent.post('/pin/confirm', { ...confirmFields(html), decision: 'approve' });
        assert.equal(done.status, 303);
        assert.equal(done.headers.get('location'), 'https://example.com/connected');
        assert.equal((await pollPin(kf, fx.public.clientId, pin.user_code)).body.result, 'OK');
      });

      it('denial deletes the PIN: the device gets a fresh code in the init shape', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        const res = await answerPin(agent, pin.user_code, 'deny');
        assert.equal(res.status, 200);
        assert.match(await res.text(), /Not connected/);
        const after = await pollPin(kf, fx.public.clientId, pin.user_code);
        assertInitShape(kf, after.body);
        assert.notEqual(after.body.user_code, pin.user_code);
      });

      it('a grant revoked before the device collects leaves the PIN pending', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        await answerPin(agent, pin.user_code, 'approve');
        const row = (await kf.storage.listConnectedApps(fx.userId)).find((c) => c.clientId === fx.public.clientId)!;
        await kf.storage.revokeGrant(row.grant.id, fx.userId, clock.now());
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
      });
    });

    describe('/pin pages', () => {
      it('asks a visitor to sign in first, then comes back to the pre-filled code', async () => {
        const visitor = new WebAgent(kf.webUrl);
        const res = await visitor.get('/pin/ab-cde');
        assert.equal(res.status, 303);
        assert.equal(res.headers.get('location'), '/signin?next=%2Fpin%2Fab-cde');
        const page = await agent.page('/pin/ab-cde');
        assert.equal(page.res.status, 200);
        assert.match(page.html, /id="user_code" name="user_code" class="pin-input" value="ABCDE"/);
        assert.equal((await agent.page('/pin')).res.status, 200);
        assert.equal((await agent.page('/pin/')).res.status, 200);
      });

      it('accepts the code typed in lower case with spaces and dashes, and shows which app and device ask', async () => {
        const pin = await startPinOk(kf, fx.public.clientId, { 'app-name': 'kodi-bridge', 'app-version': '3.2' });
        const typed = ` ${pin.user_code.slice(0, 2).toLowerCase()} - ${pin.user_code.slice(2).toLowerCase()} `;
        const { res, html } = await enterCode(agent, typed);
        assert.equal(res.status, 200);
        assert.match(html, /Connect <strong>Test Public<\/strong> to your account\?/);
        assert.match(html, /<code>kodi-bridge<\/code> version <code>3\.2<\/code>/);
        assert.equal(confirmFields(html).user_code, pin.user_code);
      });

      it('escapes what the device says about itself', async () => {
        const res = await fetch(`${kf.apiUrl}/oauth/pin?client_id=${fx.public.clientId}&app-name=${encodeURIComponent('<img src=x onerror=alert(1)>')}`, {
          headers: { 'user-agent': '"><script>alert(2)</script>' },
        });
        const pin = (await res.json()) as { user_code: string };
        const { res: page, html } = await enterCode(agent, pin.user_code);
        assert.equal(page.status, 200);
        assert.doesNotMatch(html, /<img src=x|<script>alert/);
        assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
        assert.match(String(page.headers.get('content-security-policy')), /script-src 'self'/);
      });

      it('explains a malformed code without counting it as a wrong try', async () => {
        for (let i = 0; i <= PIN_LIMITS.wrongPerAccount; i += 1) {
          const { res, html } = await enterCode(agent, 'O0I1L');
          assert.equal(res.status, 400);
          assert.match(html, /A code is 5 letters and digits/);
        }
        const pin = await startPinOk(kf, fx.public.clientId);
        assert.equal((await enterCode(agent, pin.user_code)).res.status, 200);
      });

      it('refuses a decision posted without the CSRF token', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        const res = await agent.post('/pin/confirm', { user_code: pin.user_code, decision: 'approve' });
        assert.equal(res.status, 403);
        assert.deepEqual((await pollPin(kf, fx.public.clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });
      });
    });

    describe('abuse limits', () => {
      it(`locks an account out after ${PIN_LIMITS.wrongPerAccount} wrong codes, even for a right one`, async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        const wrong = pin.user_code[0] === 'Z' ? 'YYYYY' : 'ZZZZZ';
        for (let i = 0; i < PIN_LIMITS.wrongPerAccount; i += 1) assert.equal((await enterCode(agent, wrong)).res.status, 400);
        const blocked = await enterCode(agent, pin.user_code);
        assert.equal(blocked.res.status, 429);
        assert.equal(blocked.res.headers.get('retry-after'), String(PIN_LIMITS.wrongWindowMs / 1000));
        // The decision form is held to the same limit.
        const direct = await agent.post('/pin/confirm', { _csrf: (await agent.page('/pin')).csrf, user_code: pin.user_code, decision: 'approve' });
        assert.equal(direct.status, 429);
      });

      it(`limits an address to ${PIN_LIMITS.wrongPerAddress} wrong codes across accounts`, async () => {
        const agents: WebAgent[] = [];
        for (let i = 0; i < Math.ceil(PIN_LIMITS.wrongPerAddress / PIN_LIMITS.wrongPerAccount) + 1; i += 1) {
          const other = await seedFixture(kf);
          const a = new WebAgent(kf.webUrl);
          await a.signIn(other.username, other.password);
          agents.push(a);
        }
        let sent = 0;
        for (const a of agents) {
          for (let i = 0; i < PIN_LIMITS.wrongPerAccount - 1 && sent < PIN_LIMITS.wrongPerAddress; i += 1, sent += 1) {
            assert.equal((await enterCode(a, 'ZZZZY')).res.status, 400);
          }
        }
        assert.equal(sent, PIN_LIMITS.wrongPerAddress);
        // A fresh account from the same address is refused too.
        assert.equal((await enterCode(agents[agents.length - 1]!, 'ZZZZY')).res.status, 429);
      });

      it(`locks a code after ${PIN_LIMITS.maxTriesPerCode} wrong tries aimed at it (one character off)`, async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        const other = pin.user_code[4] === '2' ? '3' : '2';
        const near = `${pin.user_code.slice(0, 4)}${other}`;
        for (let i = 0; i < PIN_LIMITS.maxTriesPerCode - 1; i += 1) assert.equal((await enterCode(agent, near)).res.status, 400);
        assert.equal((await kf.storage.findPin(pin.user_code))?.failedAttempts, PIN_LIMITS.maxTriesPerCode - 1);
        assert.equal((await enterCode(agent, near)).res.status, 400);
        assert.equal((await enterCode(agent, pin.user_code)).res.status, 400);
        assertInitShape(kf, (await pollPin(kf, fx.public.clientId, pin.user_code)).body);
      });

      it(`limits PIN creation per address, polls of dead codes included, with Retry-After`, async () => {
        for (let i = 0; i < PIN_LIMITS.createPerAddress; i += 1) {
          const res = i % 2 === 0 ? await requestPin(kf, fx.public.clientId) : await fetch(`${kf.apiUrl}/oauth/pin/ZZZZZ?client_id=${fx.public.clientId}`);
          assert.equal(res.status, 200);
        }
        for (const url of [`${kf.apiUrl}/oauth/pin?client_id=${fx.public.clientId}`, `${kf.apiUrl}/oauth/pin/ZZZZZ?client_id=${fx.public.clientId}`]) {
          const res = await fetch(url);
          assert.equal(res.status, 429);
          assert.ok(Number(res.headers.get('retry-after')) > 0);
          const body = (await res.json()) as Record<string, unknown>;
          assert.equal(body.error, 'rate_limit');
          assert.equal(body.code, 429);
        }
      });

      it(`bounds the live PINs of one app at ${PIN_LIMITS.maxLivePerApp}`, async () => {
        const now = clock.now();
        for (let i = 0; i < PIN_LIMITS.maxLivePerApp; i += 1) {
          const created = await kf.storage.createPin({
            userCode: `SEED-${i}`,
            appId: fx.confidential.appId, redirect: null, appName: null, appVersion: null, userAgent: null, createdIp: null,
            createdAt: now, expiresAt: now + 900_000, grantId: null, failedAttempts: 0, lastPolledAt: null,
          });
          assert.equal(created, true);
        }
        const res = await requestPin(kf, fx.confidential.clientId);
        assert.equal(res.status, 429);
        assert.equal(((await res.json()) as { error: string }).error, 'rate_limit');
        // Another app is unaffected; once they expire the app can create PINs again.
        assert.equal((await requestPin(kf, fx.public.clientId)).status, 200);
        clock.advance(900_000);
        assert.equal((await requestPin(kf, fx.confidential.clientId)).status, 200);
      });

      it('removes expired PINs', async () => {
        const pin = await startPinOk(kf, fx.public.clientId);
        assert.ok(await kf.storage.findPin(pin.user_code));
        clock.advance(900_000 + PIN_LIMITS.sweepEveryMs);
        await startPinOk(kf, fx.public.clientId);
        assert.equal(await kf.storage.findPin(pin.user_code), null);
      });
    });
  });
}
