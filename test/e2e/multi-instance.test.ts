/**
 * Three real keyfob processes (`node dist/cli/index.js serve`) on one PostgreSQL schema,
 * sharing KEYFOB_SECRET and a Redis, each on its own ports, as behind a load balancer.
 * A browser and a client land on a different instance at every step, and nothing
 * changes for them: sessions, CSRF, codes, the same-token rule, single use and revocation
 * hold across instances.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../src/accounts/apps.js';
import { createUser } from '../../src/accounts/users.js';
import { PostgresStorage } from '../../src/storage/postgres/postgres-storage.js';
import { systemClock } from '../../src/util/clock.js';
import { freePort, REDIRECT_URI, TEST_SECRET } from '../helpers/keyfob.js';
import { dropSchema, freshSchemaUrl } from '../helpers/postgres.js';
import { dropRedisPrefix, freshRedisPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { callbackParams, csrfOf, hiddenFields, WebAgent } from '../helpers/web-agent.js';
import { confirmFields } from '../helpers/pin.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Instance {
  name: string;
  webUrl: string;
  apiUrl: string;
  proc: ChildProcess;
  output: string[];
}

/** Starts one `keyfob serve` and resolves once both origins listen. */
async function spawnInstance(name: string, database: string, redisPrefix: string): Promise<Instance> {
  const [webPort, apiPort] = [await freePort(), await freePort()];
  const proc = spawn(process.execPath, [join(ROOT, 'dist/cli/index.js'), 'serve', '--database', database, '--web-port', String(webPort), '--api-port', String(apiPort), '--no-demo'], {
    cwd: ROOT,
    env: { ...process.env, KEYFOB_SECRET: TEST_SECRET, KEYFOB_LOG_LEVEL: 'warn', KEYFOB_REDIS_URL: TEST_REDIS_URL, KEYFOB_REDIS_PREFIX: redisPrefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const inst: Instance = { name, webUrl: `http://127.0.0.1:${webPort}`, apiUrl: `http://127.0.0.1:${apiPort}`, proc, output: [] };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s:\n${inst.output.join('')}`)), 30_000);
    const onData = (chunk: Buffer) => {
      inst.output.push(chunk.toString());
      if (inst.output.join('').includes('keyfob api origin on')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => inst.output.push(c.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${inst.output.join('')}`));
    });
  });
  return inst;
}

async function stopInstance(inst: Instance): Promise<void> {
  if (inst.proc.exitCode !== null) return;
  const exited = new Promise((resolve) => inst.proc.once('exit', resolve));
  inst.proc.kill('SIGTERM');
  await exited;
}

function authorizeUrl(on: Instance, clientId: string, state: string, extra: Record<string, string> = {}): string {
  return `${on.webUrl}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, state, ...extra }).toString()}`;
}

/** Opens the consent page on one instance and posts the decision to another, as a browser behind a load balancer may. */
async function consent(agent: WebAgent, pageOn: Instance, postTo: Instance, clientId: string, state: string, extra: Record<string, string> = {}): Promise<Response> {
  const { res, html } = await agent.page(authorizeUrl(pageOn, clientId, state, extra));
  assert.equal(res.status, 200, `consent page on ${pageOn.name}`);
  return agent.post(`${postTo.webUrl}/oauth/authorize`, { ...hiddenFields(html), decision: 'approve' });
}

async function exchange(on: Instance, code: string, client: { clientId: string; clientSecret: string }): Promise<Response> {
  return fetch(`${on.apiUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'authorization_code', code, client_id: client.clientId, client_secret: client.clientSecret, redirect_uri: REDIRECT_URI }),
  });
}

async function settings(on: Instance, token: string, clientId: string): Promise<Response> {
  return fetch(`${on.apiUrl}/users/settings?client_id=${clientId}`, { headers: { authorization: `Bearer ${token}` } });
}

describe('three keyfob instances on one PostgreSQL database', () => {
  const database = freshSchemaUrl('multi');
  const redisPrefix = freshRedisPrefix('multi');
  let nodes: Instance[] = [];
  let storage: PostgresStorage;
  const who = { username: `multi_${process.pid}`, password: 'correct horse battery' };
  let client: { clientId: string; clientSecret: string };
  let publicClientId: string;
  let agent: WebAgent;

  before(async () => {
    // The processes run the compiled CLI, so build it from the current sources first.
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
    // All three start at once on an empty schema: migrations must be applied exactly once.
    nodes = await Promise.all(['one', 'two', 'three'].map((n) => spawnInstance(n, database, redisPrefix)));
    storage = await PostgresStorage.connect(database);
    const user = await createUser(storage, systemClock, who);
    const app = await createApp(storage, systemClock, { ownerId: user.id, name: 'Multi Confidential', redirectUris: [REDIRECT_URI], isPublic: false });
    client = { clientId: app.app.clientId, clientSecret: app.clientSecret! };
    const pub = await createApp(storage, systemClock, { ownerId: user.id, name: 'Multi Public', redirectUris: [REDIRECT_URI], isPublic: true });
    publicClientId = pub.app.clientId;
  });
  after(async () => {
    await Promise.all(nodes.map(stopInstance));
    await storage?.close();
    await dropSchema(database);
    await dropRedisPrefix(redisPrefix);
  });

  it('started all three at once on an empty schema, applying each migration once', async () => {
    assert.deepEqual(await storage.migrate(), []);
    assert.equal(nodes.filter((n) => n.proc.exitCode === null).length, 3);
  });

  it('signs in with a form from instance one posted to instance two, and instance three knows the session', async () => {
    const [one, two, three] = nodes as [Instance, Instance, Instance];
    agent = new WebAgent(one.webUrl);
    const { csrf } = await agent.page(`${one.webUrl}/signin`);
    const res = await agent.post(`${two.webUrl}/signin`, { _csrf: csrf, username: who.username, password: who.password, next: '/' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/');
    const home = await agent.get(`${three.webUrl}/`);
    assert.equal(home.status, 200);
    assert.match(await home.text(), new RegExp(`Signed in as <strong>${who.username}</strong>`));
  });

  it('refuses a tampered CSRF token on every instance', async () => {
    for (const n of nodes) {
      const { csrf } = await agent.page(`${n.webUrl}/`);
      const res = await agent.post(`${n.webUrl}/signout`, { _csrf: `${csrf}x` }, { accept: 'application/json' });
      assert.equal(res.status, 403);
      assert.equal(((await res.json()) as { error: string }).error, 'csrf_failed');
    }
  });

  let token = '';

  it('consent page on three, decision on one, code exchanged on two, token works on all three', async () => {
    const [one, two, three] = nodes as [Instance, Instance, Instance];
    const res = await consent(agent, three, one, client.clientId, 'st-1');
    assert.equal(res.status, 302);
    const cb = callbackParams(res);
    assert.equal(cb.get('state'), 'st-1');
    const tok = await exchange(two, cb.get('code')!, client);
    assert.equal(tok.status, 200);
    const body = (await tok.json()) as { access_token: string; token_type: string; scope: string };
    assert.match(body.access_token, /^[0-9a-f]{64}$/);
    assert.equal(body.token_type, 'bearer');
    token = body.access_token;
    for (const n of [one, two, three]) {
      const s = await settings(n, token, client.clientId);
      assert.equal(s.status, 200, `settings on ${n.name}`);
      assert.equal(((await s.json()) as { user: { name: string } }).user.name, who.username);
    }
  });

  it('a public PKCE client: challenge sent to instance two, verifier checked by instance three (§6)', async () => {
    const [one, two, three] = nodes as [Instance, Instance, Instance];
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const res = await consent(agent, two, one, publicClientId, 'pkce-1', { code_challenge: challenge, code_challenge_method: 'S256' });
    assert.equal(res.status, 302);
    const code = callbackParams(res).get('code')!;
    const tok = await fetch(`${three.apiUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: publicClientId, code_verifier: verifier, redirect_uri: REDIRECT_URI }).toString(),
    });
    assert.equal(tok.status, 200);
    const { access_token } = (await tok.json()) as { access_token: string };
    const s = await settings(one, access_token, publicClientId);
    assert.equal(s.status, 200);
    await s.text();
  });

  it('re-authorizing through other instances returns the same token (§5.4)', async () => {
    const [one, two, three] = nodes as [Instance, Instance, Instance];
    const res = await consent(agent, one, two, client.clientId, 'st-2');
    const tok = await exchange(three, callbackParams(res).get('code')!, client);
    assert.equal(tok.status, 200);
    assert.equal(((await tok.json()) as { access_token: string }).access_token, token);
  });

  it('one code redeemed at the same moment on two instances gives exactly one token', async () => {
    const [one, two] = nodes as [Instance, Instance, Instance];
    for (let round = 0; round < 5; round++) {
      const res = await consent(agent, nodes[round % 3]!, nodes[(round + 1) % 3]!, client.clientId, `race-${round}`);
      const code = callbackParams(res).get('code')!;
      const answers = await Promise.all([exchange(one, code, client), exchange(two, code, client)]);
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 401], `round ${round}`);
      const loser = answers.find((r) => r.status === 401)!;
      assert.deepEqual(await loser.json(), { error: 'grant_error', code: 401, message: 'The code is invalid, expired or already used' });
      assert.equal(((await answers.find((r) => r.status === 200)!.json()) as { access_token: string }).access_token, token);
    }
  });

  it('a PIN created on one instance, approved through another, is collected by a device polling the third (§7)', async () => {
    const [one, two, three] = nodes as [Instance, Instance, Instance];
    const init = await fetch(`${one.apiUrl}/oauth/pin?client_id=${client.clientId}`);
    assert.equal(init.status, 200);
    const pin = (await init.json()) as { user_code: string; verification_url: string };
    const pending = await fetch(`${three.apiUrl}/oauth/pin/${pin.user_code}?client_id=${client.clientId}`);
    assert.deepEqual(await pending.json(), { result: 'KO', message: 'Authorization pending' });
    // The person approves on instance two's /pin page.
    const phone = new WebAgent(two.webUrl);
    await phone.signIn(who.username, who.password);
    const { csrf } = await phone.page('/pin');
    const entry = await phone.post('/pin', { _csrf: csrf, user_code: pin.user_code.toLowerCase() });
    assert.equal(entry.status, 200);
    const decision = await phone.post('/pin/confirm', { ...confirmFields(await entry.text()), decision: 'approve' });
    assert.ok(decision.status === 200 || decision.status === 303, `decision answered ${decision.status}`);
    await decision.text();
    // Polls are at least a second apart, as the reference's clients do.
    await new Promise((r) => setTimeout(r, 1100));
    const done = await fetch(`${three.apiUrl}/oauth/pin/${pin.user_code}?client_id=${client.clientId}`);
    assert.deepEqual(await done.json(), { result: 'OK', access_token: token }, 'the same token as the code flow, collected on instance three');
    const gone = (await (await fetch(`${one.apiUrl}/oauth/pin/${pin.user_code}?client_id=${client.clientId}`)).json()) as Record<string, unknown>;
    assert.equal(gone.device_code, 'DEVICE_CODE', 'collected once: the code is gone everywhere');
    assert.notEqual(gone.user_code, pin.user_code);
  });

  it('the 1 POST/s limit per token holds across the three processes through the shared Redis (§10.4)', async () => {
    const post = (n: Instance) => fetch(`${n.apiUrl}/users/settings?client_id=${client.clientId}`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const [one, two, three] = nodes as [Instance, Instance, Instance];
    const first = await post(one);
    assert.equal(first.status, 200);
    await first.text();
    for (const n of [two, three]) {
      const res = await post(n);
      assert.equal(res.status, 429, `POST on ${n.name}`);
      assert.deepEqual(await res.json(), { error: 'rate_limit', code: 429, message: 'Too many requests' });
    }
  });

  it('a revoke on the Connected Apps page of one instance answers 401 on every instance on the very next call (no token cache)', async () => {
    const three = nodes[2]!;
    const user = (await storage.findUserByUsername(who.username))!;
    const [connected] = await storage.listConnectedApps(user.id);
    const browser = new WebAgent(three.webUrl);
    await browser.signIn(who.username, who.password);
    const { csrf } = await browser.page('/settings/connected-apps/');
    const res = await browser.post(`/settings/connected-apps/${connected!.grant.id}/revoke/`, { _csrf: csrf });
    assert.equal(res.status, 303);
    for (const n of nodes) {
      const s = await settings(n, token, client.clientId);
      assert.equal(s.status, 401, `settings on ${n.name}`);
      assert.deepEqual(await s.json(), { error: 'user_token_failed', code: 401 });
    }
  });

  it('signing out on one instance ends the session on the others', async () => {
    const [one, two, three] = nodes as [Instance, Instance, Instance];
    // Keep the cookies as they were before signing out, as a copied or replayed cookie would be.
    const oldCookies = agent.cookieHeader();
    const before = await fetch(`${two.webUrl}/`, { headers: { cookie: oldCookies } });
    assert.match(await before.text(), /Signed in as/);
    const { html } = await agent.page(`${one.webUrl}/`);
    const res = await agent.post(`${one.webUrl}/signout`, { _csrf: csrfOf(html) });
    assert.equal(res.status, 303);
    // The session row is gone, so the old cookie signs in nowhere.
    for (const n of [two, three]) {
      const home = await fetch(`${n.webUrl}/`, { headers: { cookie: oldCookies } });
      assert.equal(home.status, 200);
      assert.doesNotMatch(await home.text(), /Signed in as/);
    }
  });
});
