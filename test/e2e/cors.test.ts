/**
 * §2.3: every answer of the api origin carries the CORS headers, whatever made it (a
 * route's handler, an error raised before the handler ran, an unknown path, a path
 * Fastify could not read), and a preflight to any path is answered 204.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CORS_EXPOSE_HEADERS } from '../../src/api/cors.js';
import { approveAndGetCode, postToken } from '../helpers/flows.js';
import { REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';

describe('CORS on every api answer (reference §2.3)', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    kf = await startKeyfob({ env: { KEYFOB_RATE_LIMITS: 'false' } });
    fx = await seedFixture(kf);
    agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
  });
  after(async () => kf.close());

  function assertCors(res: Response, what: string, status: number): void {
    assert.equal(res.status, status, what);
    assert.equal(res.headers.get('access-control-allow-origin'), '*', what);
    assert.equal(res.headers.get('access-control-expose-headers'), CORS_EXPOSE_HEADERS, what);
  }

  it('on successful answers of every route', async () => {
    const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
    const tokenRes = await postToken(kf, { grant_type: 'authorization_code', code, client_id: fx.confidential.clientId, client_secret: fx.confidential.clientSecret, redirect_uri: REDIRECT_URI });
    assertCors(tokenRes, 'POST /oauth/token', 200);
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const q = `client_id=${fx.confidential.clientId}`;
    assertCors(await fetch(`${kf.apiUrl}/users/settings?${q}`, { headers: { authorization: `Bearer ${token}` } }), 'GET /users/settings', 200);
    assertCors(await fetch(`${kf.apiUrl}/users/settings?${q}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } }), 'POST /users/settings', 200);
    assertCors(await fetch(`${kf.apiUrl}/users/settings?${q}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } }), 'HEAD /users/settings', 200);
    const pinRes = await fetch(`${kf.apiUrl}/oauth/pin?${q}`);
    assertCors(pinRes, 'GET /oauth/pin', 200);
    const { user_code: userCode } = (await pinRes.json()) as { user_code: string };
    const pollRes = await fetch(`${kf.apiUrl}/oauth/pin/${userCode}?${q}`);
    assertCors(pollRes, 'GET /oauth/pin/{user_code}', 200);
    assert.deepEqual(await pollRes.json(), { result: 'KO', message: 'Authorization pending' });
  });

  it('on errors, including those raised before a handler runs', async () => {
    const q = `client_id=${fx.confidential.clientId}`;
    assertCors(await fetch(`${kf.apiUrl}/users/settings?${q}`), '401 without a token', 401);
    assertCors(await fetch(`${kf.apiUrl}/users/settings`, { headers: { authorization: 'Bearer x' } }), '412 without a client_id', 412);
    assertCors(await fetch(`${kf.apiUrl}/no/such/endpoint`), '404 unknown path', 404);
    assertCors(await fetch(`${kf.apiUrl}/oauth/authorize`), '404 web page asked of the api origin', 404);
    const textBody = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    assertCors(textBody, '415 content type', 415);
    assert.equal(((await textBody.json()) as { error: string }).error, 'unsupported_media_type');
    const tooLarge = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `code=${'a'.repeat(20_000)}` });
    assertCors(tooLarge, '413 body too large', 413);
    const badJson = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":' });
    assertCors(badJson, '400 unreadable JSON', 400);
    assertCors(await fetch(`${kf.apiUrl}/oauth/pin/${'A'.repeat(200)}?${q}`), '400 path over the parameter length', 400);
    assertCors(await postToken(kf, { grant_type: 'authorization_code', code: 'x', client_id: fx.confidential.clientId }), '403 empty_field', 403);
  });

  it('answers a preflight to any path with 204 and the documented headers', async () => {
    for (const path of ['/oauth/token', '/oauth/pin/ABCDE', '/users/settings', '/no/such/endpoint']) {
      const res = await fetch(`${kf.apiUrl}${path}`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
      });
      assertCors(res, `OPTIONS ${path}`, 204);
      assert.equal(await res.text(), '');
      assert.equal(res.headers.get('access-control-allow-methods'), 'GET, POST, PUT, PATCH, DELETE, OPTIONS');
      assert.equal(res.headers.get('access-control-allow-headers'), 'Authorization, Content-Type, simkl-api-key, User-Agent, X-Requested-With');
      assert.equal(res.headers.get('access-control-max-age'), '86400');
    }
  });
});
