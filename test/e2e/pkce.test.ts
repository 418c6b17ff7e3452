import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/accounts/apps.js';
import { approveAndGetCode, authorizeUrl, getSettings, postToken } from '../helpers/flows.js';
import { REDIRECT_URI, seedFixture, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { callbackParams, WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

const verifier = () => randomBytes(32).toString('base64url');
const s256 = (v: string) => createHash('sha256').update(v).digest('base64url');

async function expectPkceFailure(res: Response): Promise<void> {
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /error="secret_error"/);
  assert.deepEqual(await res.json(), { error: 'secret_error', code: 401, message: 'PKCE verification failed' });
}

async function tokenOf(res: Response): Promise<string> {
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { access_token: string; token_type: string; scope: string; expires_in: number };
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.scope, 'public');
  assert.equal(body.expires_in, 157680000);
  return body.access_token;
}

describe('public PKCE flow (reference §6, RFC 7636)', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ env: { KEYFOB_RATE_LIMITS: 'false' } }));
  });
  after(async () => kf.close());

  const pkceCode = (v: string, extra: Record<string, string> = {}) =>
    approveAndGetCode(kf, fx, { client_id: fx.public.clientId, code_challenge: s256(v), code_challenge_method: 'S256', state: 's', ...extra }, agent);
  const exchange = (c: string, v: string, extra: Record<string, string> = {}, json = false) =>
    postToken(kf, { grant_type: 'authorization_code', code: c, client_id: fx.public.clientId, code_verifier: v, redirect_uri: REDIRECT_URI, ...extra }, { json });

  it('exchanges a code with the verifier instead of a secret (S256)', async () => {
    const v = verifier();
    const token = await tokenOf(await exchange(await pkceCode(v), v));
    assert.equal((await getSettings(kf, token, fx.public.clientId)).status, 200);
  });

  it('S256 is the default when the method is omitted', async () => {
    const v = verifier();
    const c = await approveAndGetCode(kf, fx, { client_id: fx.public.clientId, code_challenge: s256(v) }, agent);
    await tokenOf(await exchange(c, v, {}, true));
  });

  it('plain works, case-sensitively', async () => {
    const v = verifier();
    const c = await approveAndGetCode(kf, fx, { client_id: fx.public.clientId, code_challenge: v, code_challenge_method: 'plain' }, agent);
    await tokenOf(await exchange(c, v));
  });

  for (const method of ['s256', 'sha256', 'PLAIN', 'S512']) {
    it(`refuses code_challenge_method=${method} at authorize with a redirect (RFC 7636 §4.3)`, async () => {
      const res = await agent.get(
        authorizeUrl(kf, { response_type: 'code', client_id: fx.public.clientId, redirect_uri: REDIRECT_URI, code_challenge: s256(verifier()), code_challenge_method: method, state: 'st' }),
      );
      assert.equal(res.status, 302);
      const p = callbackParams(res);
      assert.equal(p.get('error'), 'invalid_request');
      assert.equal(p.get('error_description'), 'code_challenge_method must be S256 or plain (RFC 7636 §4.3)');
      assert.equal(p.get('state'), 'st');
    });
  }

  it('shows the method error on the page when redirect_uri is not verified', async () => {
    const { res, html } = await agent.page(
      authorizeUrl(kf, { response_type: 'code', client_id: fx.public.clientId, redirect_uri: 'https://evil.example/cb', code_challenge: s256(verifier()), code_challenge_method: 'md5' }),
    );
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('location'), null);
    assert.match(html, /redirect_uri/);
  });

  it('refuses a public app without a code_challenge', async () => {
    const res = await agent.get(authorizeUrl(kf, { response_type: 'code', client_id: fx.public.clientId, redirect_uri: REDIRECT_URI }));
    assert.equal(res.status, 302);
    const p = callbackParams(res);
    assert.equal(p.get('error'), 'invalid_request');
    assert.match(p.get('error_description')!, /code_challenge is required/);
  });

  it('refuses a malformed code_challenge', async () => {
    const res = await agent.get(authorizeUrl(kf, { response_type: 'code', client_id: fx.public.clientId, redirect_uri: REDIRECT_URI, code_challenge: 'short' }));
    assert.equal(callbackParams(res).get('error'), 'invalid_request');
  });

  it('a wrong verifier fails and burns the code', async () => {
    const v = verifier();
    const c = await pkceCode(v);
    await expectPkceFailure(await exchange(c, verifier()));
    const again = await exchange(c, v);
    assert.equal(again.status, 401);
    assert.equal(((await again.json()) as { error: string }).error, 'grant_error');
  });

  for (const [name, bad] of [
    ['too short', 'a'.repeat(42)],
    ['too long', 'a'.repeat(129)],
    ['outside the alphabet', `${'a'.repeat(42)}+`],
    ['with a space', `${'a'.repeat(42)} `],
  ] as const) {
    it(`a malformed verifier (${name}) fails exactly like a wrong one`, async () => {
      const c = await approveAndGetCode(kf, fx, { client_id: fx.public.clientId, code_challenge: s256(bad) }, agent);
      await expectPkceFailure(await exchange(c, bad));
    });
  }

  it('a 43-character and a 128-character verifier both work', async () => {
    for (const len of [43, 128]) {
      const v = 'A'.repeat(len - 3) + '-._~'.slice(0, 3);
      await tokenOf(await exchange(await pkceCode(v), v));
    }
  });

  it('refuses a verifier for a code issued without a challenge (RFC 9700 §4.8.2)', async () => {
    const c = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
    const res = await postToken(kf, {
      grant_type: 'authorization_code',
      code: c,
      client_id: fx.confidential.clientId,
      client_secret: fx.confidential.clientSecret,
      code_verifier: verifier(),
      redirect_uri: REDIRECT_URI,
    });
    await expectPkceFailure(res);
  });

  it('a confidential app may add PKCE: then both the secret and the verifier are checked', async () => {
    const v = verifier();
    const code = () => approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId, code_challenge: s256(v) }, agent);
    const base = { grant_type: 'authorization_code', client_id: fx.confidential.clientId, redirect_uri: REDIRECT_URI };
    await expectPkceFailure(await postToken(kf, { ...base, code: await code(), client_secret: fx.confidential.clientSecret }));
    const wrongSecret = await postToken(kf, { ...base, code: await code(), client_secret: 'f'.repeat(64), code_verifier: v });
    assert.equal(wrongSecret.status, 401);
    assert.equal(((await wrongSecret.json()) as { error: string; message: string }).message, 'Wrong Secret');
    const noSecret = await postToken(kf, { ...base, code: await code(), code_verifier: v });
    assert.equal(noSecret.status, 401);
    assert.equal(((await noSecret.json()) as { error: string }).error, 'secret_error');
    const both = await tokenOf(await postToken(kf, { ...base, code: await code(), client_secret: fx.confidential.clientSecret, code_verifier: v }));
    // Same-token rule across flows: the secret-only flow gives the same token.
    const plainCode = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
    const secretOnly = await tokenOf(await postToken(kf, { ...base, code: plainCode, client_secret: fx.confidential.clientSecret }));
    assert.equal(both, secretOnly);
  });

  it('redirect_uri sent to authorize must be sent again and be equal (docs/decisions/0004)', async () => {
    const v = verifier();
    const missing = await postToken(kf, { grant_type: 'authorization_code', code: await pkceCode(v), client_id: fx.public.clientId, code_verifier: v });
    assert.equal(missing.status, 403);
    assert.equal(((await missing.json()) as { error: string }).error, 'redirect_failed');
    const other = await seedFixture(kf, { redirectUris: [REDIRECT_URI, 'http://127.0.0.1:8765/other'] });
    const otherAgent = new WebAgent(kf.webUrl);
    await otherAgent.signIn(other.username, other.password);
    const c = await approveAndGetCode(kf, other, { client_id: other.public.clientId, code_challenge: s256(v) }, otherAgent);
    const differs = await postToken(kf, { grant_type: 'authorization_code', code: c, client_id: other.public.clientId, code_verifier: v, redirect_uri: 'http://127.0.0.1:8765/other' });
    assert.equal(differs.status, 403, 'a registered but different redirect_uri is refused');
  });

  describe('public clients identify themselves in several ways', () => {
    it('client_id in the body with an empty client_secret field', async () => {
      const v = verifier();
      await tokenOf(await exchange(await pkceCode(v), v, { client_secret: '' }));
    });
    it('HTTP Basic with an empty password', async () => {
      const v = verifier();
      const c = await pkceCode(v);
      const res = await postToken(
        kf,
        { grant_type: 'authorization_code', code: c, code_verifier: v, redirect_uri: REDIRECT_URI },
        { headers: { authorization: `Basic ${Buffer.from(`${fx.public.clientId}:`).toString('base64')}` } },
      );
      await tokenOf(res);
    });
    it('JSON body with client_id only', async () => {
      const v = verifier();
      await tokenOf(await exchange(await pkceCode(v), v, {}, true));
    });
  });

  it('one user, one app, one token across repeated PKCE flows', async () => {
    const v1 = verifier();
    const v2 = verifier();
    const a = await tokenOf(await exchange(await pkceCode(v1), v1));
    const b = await tokenOf(await exchange(await pkceCode(v2), v2));
    assert.equal(a, b);
  });

  describe('loopback and custom-scheme redirect URIs (§6.5)', () => {
    it('match exactly, port included', async () => {
      const owner = await seedFixture(kf);
      const loopback = 'http://127.0.0.1:49152/cb';
      const custom = 'myapp://oauth/cb';
      const { app } = await createApp(kf.storage, kf.clock, { ownerId: owner.userId, name: 'Desktop', redirectUris: [loopback, custom], isPublic: true });
      for (const uri of [loopback, custom]) {
        const v = verifier();
        const res = await agent.answerConsent(
          authorizeUrl(kf, { response_type: 'code', client_id: app.clientId, redirect_uri: uri, code_challenge: s256(v), state: 'q' }),
          'approve',
        );
        assert.equal(res.status, 302);
        const loc = res.headers.get('location')!;
        assert.ok(loc.startsWith(`${uri}?code=`), loc);
        const code = new URL(loc).searchParams.get('code')!;
        await tokenOf(await postToken(kf, { grant_type: 'authorization_code', code, client_id: app.clientId, code_verifier: v, redirect_uri: uri }));
      }
      const wrongPort = await agent.get(
        authorizeUrl(kf, { response_type: 'code', client_id: app.clientId, redirect_uri: 'http://127.0.0.1:49153/cb', code_challenge: s256(verifier()) }),
      );
      assert.equal(wrongPort.status, 403, 'V1 has no loopback port relaxation');
    });
  });

  describe('no-redirect mode (§6.4)', () => {
    it('shows the code on the web origin for the user to copy, and the app exchanges it', async () => {
      const owner = await seedFixture(kf);
      const { app } = await createApp(kf.storage, kf.clock, { ownerId: owner.userId, name: 'Pocket CLI', redirectUris: [], isPublic: true });
      const v = verifier();
      const res = await agent.answerConsent(
        authorizeUrl(kf, { response_type: 'code', client_id: app.clientId, code_challenge: s256(v), code_challenge_method: 'S256' }),
        'approve',
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
      const html = await res.text();
      assert.match(html, /Pocket CLI/);
      assert.match(html, /data-copy="auth-code"/);
      assert.match(html, /<script src="\/static\/copy\.js"><\/script>/);
      const code = /<output id="auth-code"[^>]*>([^<]+)<\/output>/.exec(html)![1]!;
      await tokenOf(await postToken(kf, { grant_type: 'authorization_code', code, client_id: app.clientId, code_verifier: v }));
    });

    it('is refused without PKCE', async () => {
      const owner = await seedFixture(kf);
      const { app } = await createApp(kf.storage, kf.clock, { ownerId: owner.userId, name: 'No PKCE', redirectUris: [], isPublic: true });
      const { res, html } = await agent.page(authorizeUrl(kf, { response_type: 'code', client_id: app.clientId }));
      assert.equal(res.status, 400);
      assert.equal(res.headers.get('location'), null);
      assert.match(html, /code_challenge is required/);
    });

    it('a redirect_uri may not be sent at the token step when none went to authorize', async () => {
      const owner = await seedFixture(kf);
      const { app } = await createApp(kf.storage, kf.clock, { ownerId: owner.userId, name: 'Pocket CLI 2', redirectUris: [], isPublic: true });
      const v = verifier();
      const res = await agent.answerConsent(authorizeUrl(kf, { response_type: 'code', client_id: app.clientId, code_challenge: s256(v) }), 'approve');
      const code = /<output id="auth-code"[^>]*>([^<]+)<\/output>/.exec(await res.text())![1]!;
      const tok = await postToken(kf, { grant_type: 'authorization_code', code, client_id: app.clientId, code_verifier: v, redirect_uri: REDIRECT_URI });
      assert.equal(tok.status, 403);
      assert.equal(((await tok.json()) as { error: string }).error, 'redirect_failed');
    });
  });
});
