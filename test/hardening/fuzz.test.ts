import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { PIN_LIMITS } from '../../src/oauth/grants/pin.js';
import { ManualClock, REDIRECT_URI, seedFixture, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

/**
 * Property: whatever a client throws at an endpoint — malformed, oversized, repeated or
 * wrongly typed parameters, odd content types, broken encodings, strange headers —
 * the answer is a 4xx (or a redirect / page where the flow allows it), in the
 * reference's envelope on the api origin, within a bounded time: never a 500, a hang
 * or a stack trace.
 */

const RUNS = 60;

const junkString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '%', '%zz', '%00', '\u0000', '../../etc/passwd', '<script>alert(1)</script>', "' OR 1=1 --", 'a'.repeat(5000), '🙂', '\\', '{"a":1}', 'null', '[]'),
);
const paramName = fc.constantFrom('grant_type', 'code', 'client_id', 'client_secret', 'code_verifier', 'redirect_uri', 'state', 'response_type', 'code_challenge', 'code_challenge_method', 'app-name', 'app-version', 'scope', '__proto__', 'constructor', 'x');
const jsonValue = fc.oneof(junkString, fc.integer(), fc.boolean(), fc.constant(null), fc.array(junkString, { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), junkString, { maxKeys: 3 }));

/** A form body: pairs, so names may repeat. */
const formBody = fc.array(fc.tuple(paramName, junkString), { maxLength: 12 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
const jsonBody = fc.dictionary(paramName, jsonValue, { maxKeys: 10 }).map((o) => JSON.stringify(o));
const rawBody = fc.oneof(formBody, jsonBody, fc.string({ maxLength: 200 }), fc.constant('{"grant_type":'), fc.constant('%%%&&&==='));
const contentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded; charset=latin1',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/xml',
  '',
  'application/json; charset=utf-16',
);
const authHeader = fc.oneof(
  fc.constant(undefined),
  junkString.map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
  junkString.map((s) => `Bearer ${s.replace(/[\r\n]/g, '')}`),
  fc.constantFrom('Basic', 'Basic !!!', 'Bearer', 'Digest x', 'basic Og==', 'Basic ' + Buffer.from('%zz:%zz').toString('base64')),
);

function headerSafe(v: string): string {
  return v.replace(/[^\x20-\x7e]/g, '');
}

function assertEnvelope(status: number, text: string, what: string): void {
  assert.ok(status >= 400 && status < 500, `${what}: status ${status}: ${text.slice(0, 200)}`);
  const body = JSON.parse(text) as { error: unknown; code: unknown };
  assert.equal(typeof body.error, 'string', `${what}: ${text}`);
  assert.equal(body.code, status, `${what}: ${text}`);
  assert.doesNotMatch(text, /at [A-Za-z].*\(.*:\d+:\d+\)|node_modules|\/src\//, 'no stack trace');
}

describe('fuzzing every endpoint with malformed input', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  // A clock the PIN properties move past the abuse windows, so every run reaches the code under test.
  const clock = new ManualClock(Date.now());
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ clock, env: { KEYFOB_RATE_LIMITS: 'false' } }));
  });
  after(async () => kf.close());

  it('POST /oauth/token answers 4xx in the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(rawBody, contentType, authHeader, fc.option(junkString), async (body, type, auth, query) => {
        const headers: Record<string, string> = {};
        if (type) headers['content-type'] = type;
        if (auth) headers.authorization = headerSafe(auth);
        const q = query ? `?client_id=${encodeURIComponent(query)}` : '';
        const res = await fetch(`${kf.apiUrl}/oauth/token${q}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(5000) });
        assertEnvelope(res.status, await res.text(), `token ${type} ${body.slice(0, 80)}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('GET and POST /users/settings answer 4xx in the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST'), junkString, authHeader, fc.option(rawBody), fc.option(junkString), async (method, clientId, auth, body, apiKey) => {
        const headers: Record<string, string> = {};
        if (auth) headers.authorization = headerSafe(auth);
        if (apiKey) headers['simkl-api-key'] = headerSafe(apiKey);
        if (body && method === 'POST') headers['content-type'] = 'application/json';
        const res = await fetch(`${kf.apiUrl}/users/settings?client_id=${encodeURIComponent(clientId)}`, {
          method,
          headers,
          ...(method === 'POST' && body ? { body } : {}),
          signal: AbortSignal.timeout(5000),
        });
        assertEnvelope(res.status, await res.text(), `settings ${method}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('GET /oauth/authorize answers a page, a redirect to the registered URI, or 4xx; never 500', async () => {
    const validish = fc.record({
      response_type: fc.oneof(fc.constant('code'), junkString),
      client_id: fc.oneof(fc.constant(fx.confidential.clientId), fc.constant(fx.public.clientId), junkString),
      redirect_uri: fc.oneof(fc.constant(REDIRECT_URI), junkString, fc.constant('https://evil.example/cb')),
      state: junkString,
      code_challenge: fc.oneof(fc.constant('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'), junkString),
      code_challenge_method: fc.oneof(fc.constantFrom('S256', 'plain'), junkString),
    }, { requiredKeys: [] });
    const extra = fc.array(fc.tuple(paramName, junkString), { maxLength: 4 });
    await fc.assert(
      fc.asyncProperty(validish, extra, async (params, dup) => {
        const qs = new URLSearchParams(params as Record<string, string>);
        for (const [k, v] of dup) qs.append(k, v);
        const res = await agent.get(`/oauth/authorize?${qs}`);
        const text = await res.text();
        assert.ok([200, 302, 400, 403, 414].includes(res.status), `authorize ${res.status}: ${text.slice(0, 200)}`);
        if (res.status === 302) {
          const loc = res.headers.get('location')!;
          assert.ok(loc.startsWith(`${REDIRECT_URI}?`), `redirects only to the registered URI, got ${loc}`);
        }
        assert.doesNotMatch(text, /node_modules|\/src\/.*\.ts/);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('web forms answer 4xx or a redirect for junk, never 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/signin', '/signup', '/signout', '/oauth/authorize'), rawBody, contentType, async (path, body, type) => {
        const res = await fetch(`${kf.webUrl}${path}`, {
          method: 'POST',
          headers: { ...(type ? { 'content-type': type } : {}), cookie: agent.cookieHeader() },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(5000),
        });
        const text = await res.text();
        assert.ok(res.status >= 300 && res.status < 500, `${path} ${type}: ${res.status} ${text.slice(0, 200)}`);
        assert.doesNotMatch(text, /node_modules|\/src\/.*\.ts/);
      }),
      { numRuns: RUNS },
    );
  });

  /** A web answer to junk: anything below 500, no stack trace, no source path. */
  async function assertWebAnswer(res: Response, what: string): Promise<string> {
    const text = await res.text();
    assert.ok(res.status >= 200 && res.status < 500, `${what}: ${res.status} ${text.slice(0, 200)}`);
    assert.doesNotMatch(text, /node_modules|\/src\/.*\.ts|at [A-Za-z].*\(.*:\d+:\d+\)/, `${what}: no stack trace`);
    return text;
  }

  const pinCode = fc.oneof(junkString, fc.stringMatching(/^[2-9A-Z]{5}$/), fc.constantFrom('ZZZZZ', 'zz-zz-z', '%2e%2e', '..', 'A'.repeat(300), '7KX4M '));
  const pinQuery = fc.record(
    {
      client_id: fc.oneof(fc.constant('PUBLIC'), fc.constant('CONFIDENTIAL'), junkString),
      redirect: fc.oneof(fc.constant(REDIRECT_URI), junkString, fc.constant('https://evil.example/cb')),
      'app-name': junkString,
      'app-version': junkString,
    },
    { requiredKeys: [] },
  );

  it('GET /oauth/pin and GET /oauth/pin/:code answer 200 in the reference shape or 4xx in the envelope', async () => {
    await fc.assert(
      fc.asyncProperty(pinQuery, fc.array(fc.tuple(paramName, junkString), { maxLength: 3 }), fc.option(pinCode), fc.option(junkString), async (query, dup, code, apiKey) => {
        clock.advance(PIN_LIMITS.createWindowMs);
        const qs = new URLSearchParams();
        for (const [k, v] of Object.entries(query)) qs.append(k, v === 'PUBLIC' ? fx.public.clientId : v === 'CONFIDENTIAL' ? fx.confidential.clientId : v);
        for (const [k, v] of dup) qs.append(k, v);
        const path = code === null ? '/oauth/pin' : `/oauth/pin/${encodeURIComponent(code)}`;
        const headers: Record<string, string> = apiKey ? { 'simkl-api-key': headerSafe(apiKey) } : {};
        const res = await fetch(`${kf.apiUrl}${path}?${qs}`, { headers, signal: AbortSignal.timeout(5000) });
        const text = await res.text();
        if (res.status === 200) {
          const body = JSON.parse(text) as { result: unknown };
          assert.ok(body.result === 'OK' || body.result === 'KO', text);
        } else {
          assertEnvelope(res.status, text, `${path}?${qs}`);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('the /pin pages answer a page, a redirect or 4xx for junk, signed in or not, never 500', async () => {
    const { csrf } = await agent.page('/pin');
    const visitor = new WebAgent(kf.webUrl);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET /pin', 'GET /pin/:code', 'POST /pin', 'POST /pin/confirm'),
        fc.boolean(),
        pinCode,
        fc.array(fc.tuple(fc.constantFrom('user_code', 'decision', '_csrf', 'redirect', 'x'), junkString), { maxLength: 4 }),
        fc.constantFrom('approve', 'deny', '', 'APPROVE'),
        async (route, signedIn, code, extra, decision) => {
          clock.advance(PIN_LIMITS.wrongWindowMs);
          const who = signedIn ? agent : visitor;
          let res: Response;
          if (route.startsWith('GET')) {
            res = await who.get(route === 'GET /pin' ? `/pin?user_code=${encodeURIComponent(code)}` : `/pin/${encodeURIComponent(code)}`);
          } else {
            const form = new URLSearchParams({ _csrf: csrf, user_code: code, decision });
            for (const [k, v] of extra) form.append(k, v);
            res = await fetch(`${kf.webUrl}${route.slice(5)}`, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: signedIn ? agent.cookieHeader() : visitor.cookieHeader() },
              body: form.toString(),
              redirect: 'manual',
              signal: AbortSignal.timeout(5000),
            });
          }
          await assertWebAnswer(res, `${route} ${JSON.stringify(code).slice(0, 60)}`);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (res.status >= 300 && res.status < 400) {
            const loc = res.headers.get('location') ?? '';
            assert.ok(loc.startsWith('/') && !loc.startsWith('//'), `a /pin redirect stays on this site: ${loc}`);
          }
        },
      ),
      { numRuns: RUNS * 2 },
    );
    assert.ok((statuses.get(400) ?? 0) > 5, `wrong codes reached the entry handler: ${JSON.stringify([...statuses])}`);
  });

  it('developer settings and connected-apps forms answer a page, a redirect or 4xx for junk, never 500', async () => {
    // Another account: the junk may create, rename or delete its apps, never the fixture's.
    const dev = await seedFixture(kf);
    const devAgent = new WebAgent(kf.webUrl);
    await devAgent.signIn(dev.username, dev.password);
    const { csrf } = await devAgent.page('/settings/developer/new/');
    const statuses = new Map<number, number>();
    const ids = [String(dev.confidential.appId), String(dev.public.appId), String(fx.confidential.appId), '0', '-1', '1e3', '99999999999999999999', 'abc', '%2e%2e'];
    const formKey = fc.constantFrom('name', 'redirect_uris', 'public', 'app_type', 'confirm', '_csrf', 'description', '__proto__');
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/settings/developer/new/', '/settings/developer/:id/', '/settings/developer/:id/rotate-secret/', '/settings/developer/:id/delete/', '/settings/connected-apps/:id/revoke/'),
        fc.oneof(fc.constantFrom(...ids), junkString),
        fc.array(fc.tuple(formKey, junkString), { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', 'multipart/form-data; boundary=x'),
        async (route, id, pairs, withCsrf, type) => {
          const path = route.replace(':id', encodeURIComponent(id));
          const form = new URLSearchParams(withCsrf ? { _csrf: csrf } : {});
          for (const [k, v] of pairs) form.append(k, v);
          const body = type === 'application/json' ? JSON.stringify(Object.fromEntries(form)) : form.toString();
          const res = await fetch(`${kf.webUrl}${path}`, {
            method: 'POST',
            headers: { 'content-type': type, cookie: devAgent.cookieHeader() },
            body,
            redirect: 'manual',
            signal: AbortSignal.timeout(5000),
          });
          await assertWebAnswer(res, `${path} ${type}`);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const page = await devAgent.get(path.replace(/(rotate-secret|revoke)\/$/, ''));
          await assertWebAnswer(page, `GET ${path}`);
        },
      ),
      { numRuns: RUNS * 2 },
    );
    // The junk got past the CSRF check into the handlers, not only refused at the door.
    assert.ok([...statuses].some(([st, n]) => st !== 403 && n > 5), `statuses seen: ${JSON.stringify([...statuses])}`);
    // The fixture's own apps were out of reach of the other account.
    assert.notEqual(await kf.storage.findAppById(fx.confidential.appId), null);
  });

  it('unknown paths and methods answer 404 in the right shape on both origins', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH'), fc.webPath(), async (method, path) => {
        const p = path.startsWith('/') ? path : `/${path}`;
        const api = await fetch(`${kf.apiUrl}${p}`, { method, signal: AbortSignal.timeout(5000) });
        const apiText = await api.text();
        assert.ok(api.status >= 200 && api.status < 500, `api ${method} ${p}: ${api.status}`);
        if (api.status >= 400) assertEnvelope(api.status, apiText, `api ${method} ${p}`);
        const web = await fetch(`${kf.webUrl}${p}`, { method, redirect: 'manual', signal: AbortSignal.timeout(5000) });
        await web.text();
        assert.ok(web.status < 500, `web ${method} ${p}: ${web.status}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('oversized and repeated headers are refused cleanly', async () => {
    const big = await fetch(`${kf.apiUrl}/users/settings?client_id=${'a'.repeat(6000)}`, { headers: { authorization: `Bearer ${'b'.repeat(6000)}` } });
    assert.equal(big.status, 412);
    const huge = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'x'.repeat(100_000) }) });
    assertEnvelope(huge.status, await huge.text(), 'huge body');
    assert.equal(huge.status, 413);
  });
});
