import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { getSettings } from '../helpers/flows.js';
import { REDIRECT_URI, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

/**
 * openid-client v6 against keyfob, configured by discovery with the oauth2 algorithm
 * (RFC 8414). allowInsecureRequests is set only because the test server is plain http
 * on loopback; nothing else is adjusted.
 */
describe('openid-client v6', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ env: { KEYFOB_RATE_LIMITS: 'false' } }));
  });
  after(async () => kf.close());

  async function run(config: client.Configuration, clientId: string, pkce: boolean): Promise<string> {
    const state = client.randomState();
    const verifier = client.randomPKCECodeVerifier();
    const params: Record<string, string> = { redirect_uri: REDIRECT_URI, state, 'app-name': 'openid-client-test', 'app-version': '6' };
    if (pkce) {
      params.code_challenge = await client.calculatePKCECodeChallenge(verifier);
      params.code_challenge_method = 'S256';
    }
    const url = client.buildAuthorizationUrl(config, params);
    assert.equal(url.origin + url.pathname, `${kf.webUrl}/oauth/authorize`);
    const consent = await agent.answerConsent(url.href, 'approve');
    assert.equal(consent.status, 302);
    const callback = new URL(consent.headers.get('location')!);
    const tokens = await client.authorizationCodeGrant(config, callback, pkce ? { pkceCodeVerifier: verifier, expectedState: state } : { expectedState: state });
    assert.match(tokens.access_token, /^[0-9a-f]{64}$/);
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.expires_in, 157680000);
    assert.equal(tokens.scope, 'public');
    const settings = await getSettings(kf, tokens.access_token, clientId);
    assert.equal(settings.status, 200);
    assert.equal(((await settings.json()) as { account: { id: number } }).account.id, fx.userId);
    // The library's own bearer call works too; the API wants the client_id with the token (§2.1).
    const viaLibrary = await client.fetchProtectedResource(config, tokens.access_token, new URL(`${kf.apiUrl}/users/settings?client_id=${clientId}`), 'GET');
    assert.equal(viaLibrary.status, 200);
    assert.equal(((await viaLibrary.json()) as { account: { id: number } }).account.id, fx.userId);
    return tokens.access_token;
  }

  const discover = (clientId: string, secret: string | undefined, auth: client.ClientAuth) =>
    client.discovery(new URL(kf.webUrl), clientId, secret, auth, { algorithm: 'oauth2', execute: [client.allowInsecureRequests] });

  it('discovers the server and reads exactly the endpoints keyfob serves', async () => {
    const config = await discover(fx.confidential.clientId, fx.confidential.clientSecret, client.ClientSecretBasic(fx.confidential.clientSecret));
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, kf.webUrl);
    assert.equal(meta.token_endpoint, `${kf.apiUrl}/oauth/token`);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256', 'plain']);
  });

  it('client_secret_basic', async () => {
    const config = await discover(fx.confidential.clientId, fx.confidential.clientSecret, client.ClientSecretBasic(fx.confidential.clientSecret));
    await run(config, fx.confidential.clientId, false);
  });

  it('client_secret_post, and the same token again (same-token rule)', async () => {
    const basic = await discover(fx.confidential.clientId, fx.confidential.clientSecret, client.ClientSecretBasic(fx.confidential.clientSecret));
    const post = await discover(fx.confidential.clientId, fx.confidential.clientSecret, client.ClientSecretPost(fx.confidential.clientSecret));
    assert.equal(await run(post, fx.confidential.clientId, false), await run(basic, fx.confidential.clientId, false));
  });

  it('public client with PKCE (token_endpoint_auth_method none)', async () => {
    const config = await discover(fx.public.clientId, undefined, client.None());
    await run(config, fx.public.clientId, true);
  });

  it('a wrong secret surfaces as the server\'s 401 secret_error', async () => {
    const config = await discover(fx.confidential.clientId, 'wrong', client.ClientSecretBasic('wrong'));
    await assert.rejects(run(config, fx.confidential.clientId, false), (err: unknown) => {
      const e = err as { status?: number; error?: string; cause?: Response };
      assert.equal(e.status ?? e.cause?.status, 401);
      return true;
    });
  });
});
