import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { getSettings } from '../helpers/flows.js';
import { REDIRECT_URI, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

/**
 * oauth4webapi against keyfob, configured by RFC 8414 discovery. allowInsecureRequests
 * is set only because the test server is plain http on loopback.
 */
describe('oauth4webapi', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  let as: oauth.AuthorizationServer;
  const insecure = { [oauth.allowInsecureRequests]: true };
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ env: { KEYFOB_RATE_LIMITS: 'false' } }));
    const issuer = new URL(kf.webUrl);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  });
  after(async () => kf.close());

  async function run(clientId: string, auth: oauth.ClientAuth, pkce: boolean): Promise<string> {
    const c: oauth.Client = { client_id: clientId };
    const state = oauth.generateRandomState();
    const verifier = oauth.generateRandomCodeVerifier();
    const url = new URL(as.authorization_endpoint!);
    url.searchParams.set('client_id', clientId);
    url.searchParams.set('redirect_uri', REDIRECT_URI);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('state', state);
    if (pkce) {
      url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
      url.searchParams.set('code_challenge_method', 'S256');
    }
    const consent = await agent.answerConsent(url.href, 'approve');
    const params = oauth.validateAuthResponse(as, c, new URL(consent.headers.get('location')!), state);
    const response = await oauth.authorizationCodeGrantRequest(as, c, auth, params, REDIRECT_URI, pkce ? verifier : oauth.nopkce, insecure);
    const result = await oauth.processAuthorizationCodeResponse(as, c, response);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.expires_in, 157680000);
    assert.equal((await getSettings(kf, result.access_token, clientId)).status, 200);
    // The library's own bearer call; the API wants the client_id with the token (§2.1).
    const viaLibrary = await oauth.protectedResourceRequest(result.access_token, 'GET', new URL(`${kf.apiUrl}/users/settings?client_id=${clientId}`), undefined, undefined, insecure);
    assert.equal(viaLibrary.status, 200);
    assert.equal(((await viaLibrary.json()) as { account: { id: number } }).account.id, fx.userId);
    return result.access_token;
  }

  it('client_secret_basic', async () => {
    await run(fx.confidential.clientId, oauth.ClientSecretBasic(fx.confidential.clientSecret), false);
  });

  it('client_secret_post gives the same token', async () => {
    const a = await run(fx.confidential.clientId, oauth.ClientSecretPost(fx.confidential.clientSecret), false);
    const b = await run(fx.confidential.clientId, oauth.ClientSecretBasic(fx.confidential.clientSecret), false);
    assert.equal(a, b);
  });

  it('confidential client adding PKCE', async () => {
    await run(fx.confidential.clientId, oauth.ClientSecretBasic(fx.confidential.clientSecret), true);
  });

  it('public client with PKCE', async () => {
    await run(fx.public.clientId, oauth.None(), true);
  });

  it('a reused code is refused with the server\'s error', async () => {
    const c: oauth.Client = { client_id: fx.confidential.clientId };
    const url = new URL(as.authorization_endpoint!);
    for (const [k, v] of Object.entries({ client_id: c.client_id, redirect_uri: REDIRECT_URI, response_type: 'code' })) url.searchParams.set(k, v);
    const consent = await agent.answerConsent(url.href, 'approve');
    const params = oauth.validateAuthResponse(as, c, new URL(consent.headers.get('location')!), oauth.expectNoState);
    const auth = oauth.ClientSecretBasic(fx.confidential.clientSecret);
    const first = await oauth.authorizationCodeGrantRequest(as, c, auth, params, REDIRECT_URI, oauth.nopkce, insecure);
    await oauth.processAuthorizationCodeResponse(as, c, first);
    const second = await oauth.authorizationCodeGrantRequest(as, c, auth, params, REDIRECT_URI, oauth.nopkce, insecure);
    assert.equal(second.status, 401);
    await assert.rejects(oauth.processAuthorizationCodeResponse(as, c, second), (err: unknown) => {
      // A 401 with a WWW-Authenticate challenge surfaces as the challenge, carrying the server's error id.
      assert.ok(err instanceof oauth.WWWAuthenticateChallengeError);
      assert.equal(err.cause[0]?.scheme, 'bearer');
      assert.equal(err.cause[0]?.parameters.error, 'grant_error');
      assert.equal(err.status, 401);
      return true;
    });
  });
});
