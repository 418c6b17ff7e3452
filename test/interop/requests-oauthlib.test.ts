import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REDIRECT_URI, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'requests_oauthlib_flow.py');
/** Debian's python, where python3-requests-oauthlib is installed (scripts/test-setup.sh). */
const PYTHON = '/usr/bin/python3';

interface Outcome {
  token: { access_token: string; token_type: string; scope: string[] | string; expires_in: number };
  settings_status: number;
  settings: { account: { id: number } };
}

/** Runs the Python client; answers its authorize URL with a real consent over HTTP. */
async function runClient(kf: TestKeyfob, agent: WebAgent, mode: 'confidential' | 'post' | 'pkce', clientId: string, secret: string): Promise<Outcome> {
  const child = spawn(PYTHON, [SCRIPT, mode, kf.webUrl, kf.apiUrl, clientId, secret, REDIRECT_URI], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new Error(`client exited early: ${stderr}`);
  const { authorize_url } = JSON.parse(first.value) as { authorize_url: string };
  const consent = await agent.answerConsent(authorize_url, 'approve');
  child.stdin.write(`${consent.headers.get('location')}\n`);
  const second = await it.next();
  const code = await new Promise<number>((resolve) => child.on('close', resolve));
  if (second.done || code !== 0) throw new Error(`client failed (exit ${code}): ${stderr}`);
  return JSON.parse(second.value) as Outcome;
}

describe('requests-oauthlib (python3-requests-oauthlib from Debian)', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ env: { KEYFOB_RATE_LIMITS: 'false' } }));
  });
  after(async () => kf.close());

  it('confidential client: fetch_token with client_secret (HTTP Basic), then /users/settings', async () => {
    const out = await runClient(kf, agent, 'confidential', fx.confidential.clientId, fx.confidential.clientSecret);
    assert.match(out.token.access_token, /^[0-9a-f]{64}$/);
    assert.equal(out.token.token_type, 'bearer');
    assert.equal(out.token.expires_in, 157680000);
    assert.equal(out.settings_status, 200);
    assert.equal(out.settings.account.id, fx.userId);
  });

  it('confidential client: client_id and client_secret in the body (include_client_id=True), the same token', async () => {
    const basic = await runClient(kf, agent, 'confidential', fx.confidential.clientId, fx.confidential.clientSecret);
    const post = await runClient(kf, agent, 'post', fx.confidential.clientId, fx.confidential.clientSecret);
    assert.equal(post.token.access_token, basic.token.access_token);
    assert.equal(post.settings_status, 200);
    assert.equal(post.settings.account.id, fx.userId);
  });

  it('public client with PKCE (S256), identified by Basic with an empty password', async () => {
    const out = await runClient(kf, agent, 'pkce', fx.public.clientId, '-');
    assert.match(out.token.access_token, /^[0-9a-f]{64}$/);
    assert.equal(out.settings_status, 200);
    assert.equal(out.settings.account.id, fx.userId);
  });
});
