import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { approveAndGetCode, getSettings, postToken } from '../helpers/flows.js';
import { REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { confirmFields, enterCode, pollPin, startPinOk } from '../helpers/pin.js';
import { WebAgent } from '../helpers/web-agent.js';

/** SECURITY.md: no secret, code, token or password in logs, even at the most verbose level. */
describe('logs carry no secrets', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  const lines: string[] = [];
  before(async () => {
    const stream = new PassThrough();
    stream.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    kf = await startKeyfob({ env: { KEYFOB_LOG_LEVEL: 'trace', KEYFOB_RATE_LIMITS: 'false' }, logStream: stream });
    fx = await seedFixture(kf);
  });
  after(async () => kf.close());

  it('after sign-in, consent, exchanges (good and bad) and API calls', async () => {
    const agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
    // A failed sign-in with a password that must not leak either.
    const wrongPassword = `wrong-${randomBytes(6).toString('hex')}`;
    const { csrf } = await agent.page('/signin');
    await agent.post('/signin', { _csrf: csrf, username: fx.username, password: wrongPassword, next: '/' });
    const state = `state-${randomBytes(6).toString('hex')}`;
    const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId, state }, agent);
    const basic = `Basic ${Buffer.from(`${fx.confidential.clientId}:${fx.confidential.clientSecret}`).toString('base64')}`;
    const res = await postToken(kf, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, { headers: { authorization: basic } });
    const token = ((await res.json()) as { access_token: string }).access_token;
    await postToken(kf, { grant_type: 'authorization_code', code, client_id: fx.confidential.clientId, client_secret: fx.confidential.clientSecret, redirect_uri: REDIRECT_URI });
    const verifier = randomBytes(32).toString('base64url');
    const pkceCode = await approveAndGetCode(kf, fx, { client_id: fx.public.clientId, code_challenge: createHash('sha256').update(verifier).digest('base64url') }, agent);
    await postToken(kf, { grant_type: 'authorization_code', code: pkceCode, client_id: fx.public.clientId, code_verifier: verifier, redirect_uri: REDIRECT_URI }, { json: true });
    await getSettings(kf, token, fx.confidential.clientId);
    await getSettings(kf, token, fx.confidential.clientId, 'POST');
    await fetch(`${kf.apiUrl}/users/settings?client_id=${fx.confidential.clientId}&access_token=${token}`);
    await new Promise((r) => setTimeout(r, 50));

    assert.ok(lines.length > 10, `logging is on (${lines.length} lines)`);
    const all = lines.join('\n');
    const secrets: Record<string, string> = {
      password: fx.password,
      wrongPassword,
      clientSecret: fx.confidential.clientSecret,
      code,
      pkceCode,
      verifier,
      token,
      state,
      basic: basic.slice(6),
    };
    for (const [name, value] of Object.entries(secrets)) assert.ok(!all.includes(value), `${name} appears in the logs`);
    assert.doesNotMatch(all, /kf_session=|kf_csrf=/, 'no cookies');
    // Request lines exist, with paths but no query strings.
    assert.ok(lines.some((l) => l.includes('"url":"/oauth/token"')));
    assert.ok(!lines.some((l) => /"url":"[^"]*\?/.test(l)), 'no query strings in logged URLs');
  });
  it('after the PIN flow: user codes, typed or polled, and the token the device collects', async () => {
    const from = lines.length;
    const agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
    const pin = await startPinOk(kf, fx.public.clientId, { redirect: REDIRECT_URI });
    await pollPin(kf, fx.public.clientId, pin.user_code);
    // The code as people type it: lower case, with a dash, and through the QR-code link.
    const typed = `${pin.user_code.slice(0, 2).toLowerCase()}-${pin.user_code.slice(2).toLowerCase()}`;
    await agent.get(`/pin/${encodeURIComponent(typed)}`);
    const { html } = await enterCode(agent, typed);
    // A wrong code, and an unknown one polled (which answers a fresh PIN).
    await enterCode(agent, 'ZZZZZ');
    const fresh = (await (await fetch(`${kf.apiUrl}/oauth/pin/ZZZZZ?client_id=${fx.public.clientId}`)).json()) as { user_code: string };
    await agent.post('/pin/confirm', { ...confirmFields(html), decision: 'approve' });
    await new Promise((r) => setTimeout(r, 1100));
    const collected = await pollPin(kf, fx.public.clientId, pin.user_code);
    const token = String(collected.body.access_token);
    assert.match(token, /^[0-9a-f]{64}$/);
    await new Promise((r) => setTimeout(r, 50));

    const mine = lines.slice(from);
    assert.ok(mine.length > 10, `logging is on (${mine.length} lines)`);
    const all = mine.join('\n');
    for (const [name, value] of Object.entries({ userCode: pin.user_code, typed, freshCode: fresh.user_code, token })) {
      assert.ok(!all.includes(value), `${name} appears in the logs`);
    }
    assert.ok(mine.some((l) => l.includes('"url":"/oauth/pin/:user_code"')), 'poll paths are logged with the code masked');
    assert.ok(mine.some((l) => l.includes('"url":"/pin/:user_code"')), 'prefill paths are logged with the code masked');
  });
});
