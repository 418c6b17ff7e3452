import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approveAndGetCode, postToken } from '../helpers/flows.js';
import { hashToken, V1_TOKEN_LIFETIME_S } from '../../src/oauth/tokens.js';
import { ManualClock, REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';

/** The fixture's user signs in, allows the confidential app, and the app redeems the code (§4, §5). */
async function confidentialToken(kf: TestKeyfob, fx: Fixture): Promise<string> {
  const agent = new WebAgent(kf.webUrl);
  await agent.signIn(fx.username, fx.password);
  const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
  const res = await postToken(kf, { grant_type: 'authorization_code', code, client_id: fx.confidential.clientId, client_secret: fx.confidential.clientSecret, redirect_uri: REDIRECT_URI });
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('/users/settings (reference §9)', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let token: string;
  before(async () => {
    // The per-second limits are tested on their own below; here they would slow the calls down.
    kf = await startKeyfob({ env: { KEYFOB_RATE_LIMITS: 'false' } });
    fx = await seedFixture(kf);
    token = await confidentialToken(kf, fx);
  });
  after(async () => kf.close());

  const url = (q = '') => `${kf.apiUrl}/users/settings${q}`;

  async function expectSettings(res: Response): Promise<void> {
    assert.equal(res.status, 200, await res.clone().text());
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const body = (await res.json()) as { user: Record<string, unknown>; account: Record<string, unknown> };
    assert.deepEqual(Object.keys(body), ['user', 'account']);
    assert.deepEqual(Object.keys(body.user), ['name', 'joined_at', 'gender', 'avatar', 'bio', 'loc', 'age']);
    assert.equal(body.user.name, fx.username);
    assert.match(String(body.user.joined_at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(body.account, { id: fx.userId, timezone: 'UTC', type: 'free' });
  }

  async function expect401(res: Response): Promise<void> {
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${new URL(kf.apiUrl).host}", error="user_token_failed"`);
    assert.deepEqual(await res.json(), { error: 'user_token_failed', code: 401 });
  }

  it('GET with client_id in the query', async () => {
    await expectSettings(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `Bearer ${token}` } }));
  });

  it('GET with the simkl-api-key header instead (§2.1)', async () => {
    await expectSettings(await fetch(url(), { headers: { authorization: `Bearer ${token}`, 'simkl-api-key': fx.confidential.clientId } }));
  });

  it('accepts the scheme in any case (§2.2)', async () => {
    await expectSettings(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `bearer ${token}` } }));
    await expectSettings(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `BEARER ${token}` } }));
    await expectSettings(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `BeArEr ${token}` } }));
  });

  it('takes one or more spaces after the scheme (RFC 6750 §2.1), and ignores white space after the token', async () => {
    await expectSettings(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `Bearer   ${token}` } }));
    await expectSettings(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `Bearer ${token}\t` } }));
    await expect401(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `Bearer\t${token}` } }));
    await expect401(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `Bearer ${token}0` } }));
  });

  it('the token value is case-sensitive', async () => {
    await expect401(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: `Bearer ${token.toUpperCase()}` } }));
  });

  it('POST with no body, with {}, and with an empty JSON body', async () => {
    const auth = { authorization: `Bearer ${token}`, 'simkl-api-key': fx.confidential.clientId };
    await expectSettings(await fetch(url(), { method: 'POST', headers: auth }));
    await expectSettings(await fetch(url(), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' }));
    await expectSettings(await fetch(url(), { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '' }));
  });

  it('missing token: 401 user_token_failed with the challenge', async () => {
    await expect401(await fetch(url(`?client_id=${fx.confidential.clientId}`)));
  });

  it('malformed and unknown tokens: 401 user_token_failed', async () => {
    for (const value of ['Bearer', 'Bearer abc', `Bearer ${'0'.repeat(64)}`, 'Basic Zm9vOmJhcg==', `Bearer ${token} extra`]) {
      await expect401(await fetch(url(`?client_id=${fx.confidential.clientId}`), { headers: { authorization: value } }));
    }
  });

  it('a token used with another app\'s client_id: 401', async () => {
    await expect401(await fetch(url(`?client_id=${fx.public.clientId}`), { headers: { authorization: `Bearer ${token}` } }));
  });

  it('unknown or missing client_id: 412 client_id_failed, even with a valid token', async () => {
    for (const q of [`?client_id=${'a'.repeat(64)}`, '']) {
      const res = await fetch(url(q), { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 412);
      assert.deepEqual(await res.json(), { error: 'client_id_failed', code: 412, message: 'Your client_id is wrong. Try another one' });
    }
  });

  it('answers CORS preflight with 204 and the documented headers (§2.3)', async () => {
    const res = await fetch(url(), { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    assert.equal(res.status, 204);
    assert.equal(await res.text(), '');
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('access-control-max-age'), '86400');
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /Authorization/);
    const err = await fetch(url(), { headers: { origin: 'https://app.example' } });
    assert.equal(err.headers.get('access-control-allow-origin'), '*', 'errors carry CORS headers too');
    assert.match(err.headers.get('access-control-expose-headers') ?? '', /Retry-After/);
  });

  it('finds its route as a walk of the route tree would: percent-encoded paths decoded, nothing else folded (decision 0103)', async () => {
    const q = `?client_id=${fx.confidential.clientId}`;
    const headers = { authorization: `Bearer ${token}` };
    await expectSettings(await fetch(`${kf.apiUrl}/users/%73ettings${q}`, { headers }));
    await expectSettings(await fetch(`${kf.apiUrl}/%75sers/settings${q}`, { headers }));
    for (const path of ['/users/settings/', '/Users/settings', '/users//settings', '/users/setting', '/users/settingss', '/users/settings%20', '/users']) {
      const res = await fetch(`${kf.apiUrl}${path}${q}`, { headers });
      assert.equal(res.status, 404, path);
      const body = (await res.json()) as { error: string; code: number; message: string };
      assert.deepEqual([body.error, body.code], ['url_failed', 404], path);
    }
  });
});

describe('/users/settings with a kept token digest (decision 0104)', () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 15, 9, 30));
  let kf: TestKeyfob;
  let fx: Fixture;
  let token: string;
  before(async () => {
    kf = await startKeyfob({ clock, env: { KEYFOB_RATE_LIMITS: 'false' } });
    fx = await seedFixture(kf);
    token = await confidentialToken(kf, fx);
  });
  after(async () => kf.close());

  const call = (clientId: string, t = token) => fetch(`${kf.apiUrl}/users/settings?client_id=${clientId}`, { headers: { authorization: `Bearer ${t}` } });
  const kept = (t = token) => kf.server.services.acceptedTokens.kept(t);

  it('keeps nothing for refused tokens, and the digest of an accepted one', async () => {
    const unknown = 'e'.repeat(64);
    assert.equal((await call(fx.confidential.clientId, unknown)).status, 401);
    assert.equal(kept(unknown), undefined);
    assert.equal(kept(), undefined);
    assert.equal((await call(fx.confidential.clientId)).status, 200);
    assert.equal(kept(), hashToken(token));
    assert.equal((await call(fx.confidential.clientId)).status, 200);
  });

  it('refuses a kept token sent with another app\'s client_id, drops it, and accepts it again with its own', async () => {
    assert.ok(kept());
    const other = await call(fx.public.clientId);
    assert.equal(other.status, 401);
    assert.deepEqual(await other.json(), { error: 'user_token_failed', code: 401 });
    assert.equal(kept(), undefined);
    assert.equal((await call(fx.confidential.clientId)).status, 200);
    assert.equal(kept(), hashToken(token));
  });

  it('refuses a kept token once it has expired (§5.2: 5 years), and drops it', async () => {
    assert.ok(kept());
    clock.advance(V1_TOKEN_LIFETIME_S * 1000 + 1000);
    const res = await call(fx.confidential.clientId);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: 'user_token_failed', code: 401 });
    assert.equal(kept(), undefined);
  });
});

describe('per-second API limits (reference §10.4)', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  before(async () => {
    kf = await startKeyfob();
    fx = await seedFixture(kf);
  });
  after(async () => kf.close());

  it('allows 10 GET/s per client and answers the 11th with 429 rate_limit', async () => {
    const results = await Promise.all(
      Array.from({ length: 11 }, () => fetch(`${kf.apiUrl}/users/settings?client_id=${fx.public.clientId}`)),
    );
    const statuses = results.map((r) => r.status);
    // Requests within one window: ten are answered (401, no token), at least one is refused.
    // (Two windows may be touched when the burst straddles a second boundary.)
    const limited = results.filter((r) => r.status === 429);
    assert.ok(statuses.filter((s) => s === 401).length >= 10, statuses.join(','));
    if (limited.length > 0) {
      assert.deepEqual(await limited[0]!.json(), { error: 'rate_limit', code: 429, message: 'Too many requests' });
      assert.match(limited[0]!.headers.get('retry-after') ?? '', /^\d+$/);
    }
    // A burst of 30 cannot fit in two windows.
    const burst = await Promise.all(Array.from({ length: 30 }, () => fetch(`${kf.apiUrl}/users/settings?client_id=${fx.public.clientId}`)));
    assert.ok(burst.some((r) => r.status === 429), 'a burst of 30 GETs is limited');
  });

  it('allows 1 POST/s per client', async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => fetch(`${kf.apiUrl}/users/settings?client_id=${fx.confidential.clientId}`, { method: 'POST' })),
    );
    const statuses = results.map((r) => r.status);
    assert.ok(statuses.filter((s) => s === 429).length >= 3, statuses.join(','));
  });
});
