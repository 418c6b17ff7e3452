import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { authorizeUrl } from '../helpers/flows.js';
import { ManualClock, REDIRECT_URI, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { answerPin } from '../helpers/pin.js';
import { callbackParams, WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

const DOCS = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'clients.md'), 'utf8');

/**
 * The curl commands of docs/clients.md, word for word (the first test checks the page still
 * shows each of them), run by bash against a real server with the variables the page names.
 */
const CURL = {
  tokenForm: `curl -s "$API/oauth/token" \\
  -d grant_type=authorization_code -d "code=$CODE" \\
  -d "client_id=$CLIENT_ID" -d "client_secret=$CLIENT_SECRET" \\
  --data-urlencode "redirect_uri=$REDIRECT_URI"`,
  tokenBasic: `curl -s "$API/oauth/token" -u "$CLIENT_ID:$CLIENT_SECRET" \\
  -d grant_type=authorization_code -d "code=$CODE" \\
  --data-urlencode "redirect_uri=$REDIRECT_URI"`,
  tokenJson: `curl -s "$API/oauth/token" -H 'Content-Type: application/json' \\
  -d '{"grant_type":"authorization_code","code":"'"$CODE"'","client_id":"'"$CLIENT_ID"'","client_secret":"'"$CLIENT_SECRET"'","redirect_uri":"'"$REDIRECT_URI"'"}'`,
  tokenPkce: `curl -s "$API/oauth/token" \\
  -d grant_type=authorization_code -d "code=$CODE" \\
  -d "client_id=$CLIENT_ID" -d "code_verifier=$CODE_VERIFIER" \\
  --data-urlencode "redirect_uri=$REDIRECT_URI"`,
  settings: `curl -s "$API/users/settings?client_id=$CLIENT_ID" -H "Authorization: Bearer $TOKEN"`,
  pinStart: `curl -s "$API/oauth/pin?client_id=$CLIENT_ID&app-name=my-tv-app&app-version=1.0"`,
  pinPoll: `curl -s "$API/oauth/pin/$USER_CODE?client_id=$CLIENT_ID&app-name=my-tv-app&app-version=1.0"`,
};

/** Runs one documented command with bash; returns its output parsed as JSON. */
function run(command: string, env: Record<string, string>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile('bash', ['-c', command], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${command}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout) as Record<string, unknown>);
      } catch {
        reject(new Error(`not JSON from ${command}: ${stdout}`));
      }
    });
  });
}

describe('curl, as docs/clients.md shows it', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  let base: Record<string, string>;
  const clock = new ManualClock(Date.now());

  /** A code from a real consent, as the browser's redirect delivers it. */
  async function code(clientId: string, extra: Record<string, string> = {}): Promise<string> {
    const consent = await agent.answerConsent(authorizeUrl(kf, { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, state: 'xyz', ...extra }), 'approve');
    const c = callbackParams(consent).get('code');
    assert.ok(c);
    return c;
  }

  async function assertTokenWorks(body: Record<string, unknown>, clientId: string): Promise<void> {
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.scope, 'public');
    const settings = await run(CURL.settings, { ...base, CLIENT_ID: clientId, TOKEN: String(body.access_token) });
    assert.equal((settings.account as { id: number }).id, fx.userId);
    assert.equal((settings.user as { name: string }).name, fx.username);
  }

  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ clock, env: { KEYFOB_RATE_LIMITS: 'false' } }));
    base = { API: kf.apiUrl, REDIRECT_URI };
  });
  after(async () => kf.close());

  it('the page shows every command this test runs', () => {
    for (const [name, command] of Object.entries(CURL)) assert.ok(DOCS.includes(command), `docs/clients.md lacks the ${name} command:\n${command}`);
  });

  it('confidential client, secret in the form body', async () => {
    const body = await run(CURL.tokenForm, { ...base, CODE: await code(fx.confidential.clientId), CLIENT_ID: fx.confidential.clientId, CLIENT_SECRET: fx.confidential.clientSecret });
    await assertTokenWorks(body, fx.confidential.clientId);
  });

  it('confidential client, HTTP Basic', async () => {
    const body = await run(CURL.tokenBasic, { ...base, CODE: await code(fx.confidential.clientId), CLIENT_ID: fx.confidential.clientId, CLIENT_SECRET: fx.confidential.clientSecret });
    await assertTokenWorks(body, fx.confidential.clientId);
  });

  it('confidential client, JSON body', async () => {
    const body = await run(CURL.tokenJson, { ...base, CODE: await code(fx.confidential.clientId), CLIENT_ID: fx.confidential.clientId, CLIENT_SECRET: fx.confidential.clientSecret });
    await assertTokenWorks(body, fx.confidential.clientId);
  });

  it('public client with PKCE', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const c = await code(fx.public.clientId, { code_challenge: challenge, code_challenge_method: 'S256' });
    const body = await run(CURL.tokenPkce, { ...base, CODE: c, CLIENT_ID: fx.public.clientId, CODE_VERIFIER: verifier });
    await assertTokenWorks(body, fx.public.clientId);
  });

  it('a wrong secret gets the envelope of reference §5.3', async () => {
    const body = await run(CURL.tokenForm, { ...base, CODE: await code(fx.confidential.clientId), CLIENT_ID: fx.confidential.clientId, CLIENT_SECRET: 'wrong' });
    assert.deepEqual(body, { error: 'secret_error', code: 401, message: 'Wrong Secret' });
  });

  it('PIN: start, poll while pending, approve on /pin, poll again for the token', async () => {
    const env = { ...base, CLIENT_ID: fx.public.clientId };
    const pin = await run(CURL.pinStart, env);
    assert.equal(pin.verification_url, `${kf.webUrl}/pin`);
    const userCode = String(pin.user_code);
    assert.deepEqual(await run(CURL.pinPoll, { ...env, USER_CODE: userCode }), { result: 'KO', message: 'Authorization pending' });
    assert.equal((await answerPin(agent, userCode, 'approve')).status, 200);
    // A device waits `interval` seconds between polls (faster than one a second is told "Slow down", decision 0031).
    clock.advance(Number(pin.interval) * 1000);
    const done = await run(CURL.pinPoll, { ...env, USER_CODE: userCode });
    assert.equal(done.result, 'OK');
    const settings = await run(CURL.settings, { ...env, TOKEN: String(done.access_token) });
    assert.equal((settings.account as { id: number }).id, fx.userId);
  });
});
