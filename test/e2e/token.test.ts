import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approveAndGetCode, getSettings, postToken } from '../helpers/flows.js';
import { ManualClock, REDIRECT_URI, seedFixture, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

type Json = Record<string, unknown>;

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** Percent-encodes every character, as RFC 6749 §2.3.1 allows a client to. */
function encodeAll(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

async function expectError(res: Response, status: number, error: string, message?: RegExp): Promise<Json> {
  assert.equal(res.status, status);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await res.json()) as Json;
  assert.equal(body.error, error);
  assert.equal(body.code, status);
  if (message) assert.match(String(body.message), message);
  if (status === 401) {
    const realm = new URL(res.url).host;
    assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${realm}", error="${error}"`);
  } else {
    assert.equal(res.headers.get('www-authenticate'), null);
  }
  return body;
}

describe('POST /oauth/token (reference §5)', () => {
  const clock = new ManualClock(Date.parse('2026-11-30T12:00:00Z'));
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ clock }));
  });
  after(async () => kf.close());

  const code = () => approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
  const full = (c: string) => ({
    grant_type: 'authorization_code',
    code: c,
    client_id: fx.confidential.clientId,
    client_secret: fx.confidential.clientSecret,
    redirect_uri: REDIRECT_URI,
  });

  async function expectToken(res: Response): Promise<string> {
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('pragma'), 'no-cache');
    const body = (await res.json()) as Json;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.match(String(body.access_token), /^[0-9a-f]{64}$/);
    assert.equal(body.token_type, 'bearer');
    assert.equal(body.scope, 'public');
    assert.equal(body.expires_in, 157680000);
    return String(body.access_token);
  }

  it('accepts a form body with credentials in the body', async () => {
    await expectToken(await postToken(kf, full(await code())));
  });

  it('accepts a JSON body with credentials in the body', async () => {
    await expectToken(await postToken(kf, full(await code()), { json: true }));
  });

  it('accepts HTTP Basic with a form body and with a JSON body', async () => {
    for (const json of [false, true]) {
      const { client_id: _i, client_secret: _s, ...rest } = full(await code());
      const res = await postToken(kf, rest, { json, headers: { authorization: basic(fx.confidential.clientId, fx.confidential.clientSecret) } });
      await expectToken(res);
    }
  });

  it('percent-decodes HTTP Basic credentials (RFC 6749 §2.3.1)', async () => {
    const { client_id: _i, client_secret: _s, ...rest } = full(await code());
    const header = basic(encodeAll(fx.confidential.clientId), encodeAll(fx.confidential.clientSecret));
    await expectToken(await postToken(kf, rest, { headers: { authorization: header } }));
  });

  it('takes client_id from the query string next to app-name and app-version (§5.1)', async () => {
    const { client_id: _i, ...rest } = full(await code());
    const res = await fetch(`${kf.apiUrl}/oauth/token?client_id=${fx.confidential.clientId}&app-name=test&app-version=1.0`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(rest),
    });
    await expectToken(res);
  });

  it('gives the same user and app the same token every time (§5.4)', async () => {
    const t1 = await expectToken(await postToken(kf, full(await code())));
    const t2 = await expectToken(await postToken(kf, full(await code()), { json: true }));
    assert.equal(t1, t2);
    const other = await seedFixture(kf);
    const otherAgent = new WebAgent(kf.webUrl);
    await otherAgent.signIn(other.username, other.password);
    const c3 = await approveAndGetCode(kf, other, { client_id: fx.confidential.clientId }, otherAgent);
    const t3 = await expectToken(await postToken(kf, full(c3)));
    assert.notEqual(t3, t1, 'another user gets another token');
  });

  describe('missing fields: 403 empty_field, naming the first missing one', () => {
    for (const field of ['grant_type', 'code', 'client_id'] as const) {
      it(field, async () => {
        const body: Json = full('some-code');
        delete body[field];
        await expectError(await postToken(kf, body as Record<string, string>), 403, 'empty_field', new RegExp(`${field} is missing`));
      });
    }
    it('both client_secret and code_verifier', async () => {
      const { client_secret: _s, ...rest } = full('some-code');
      await expectError(await postToken(kf, rest), 403, 'empty_field', /client_secret or code_verifier/);
    });
    it('an empty body', async () => {
      const res = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
      await expectError(res, 403, 'empty_field', /grant_type is missing/);
    });
    it('no body and no content type', async () => {
      const res = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST' });
      await expectError(res, 403, 'empty_field', /grant_type is missing/);
    });
  });

  it('refuses another grant_type with 400 unsupported_grant_type', async () => {
    await expectError(await postToken(kf, { ...full('x'), grant_type: 'refresh_token' }), 400, 'unsupported_grant_type', /authorization_code/);
  });

  it('answers 412 client_id_failed for an unknown client', async () => {
    await expectError(await postToken(kf, { ...full('x'), client_id: 'e'.repeat(64) }), 412, 'client_id_failed', /client_id is wrong/);
  });

  it('answers 401 secret_error for a wrong secret, and the code is burned (§5.4)', async () => {
    const c = await code();
    await expectError(await postToken(kf, { ...full(c), client_secret: 'f'.repeat(64) }), 401, 'secret_error', /Wrong Secret/);
    await expectError(await postToken(kf, full(c)), 401, 'grant_error');
  });

  it('answers 401 secret_error for a wrong Basic secret', async () => {
    const { client_id: _i, client_secret: _s, ...rest } = full(await code());
    await expectError(await postToken(kf, rest, { headers: { authorization: basic(fx.confidential.clientId, 'nope') } }), 401, 'secret_error');
  });

  it('refuses Basic and body credentials that name different clients', async () => {
    const res = await postToken(kf, { ...full(await code()), client_secret: '' }, { headers: { authorization: basic(fx.public.clientId, '') } });
    await expectError(res, 401, 'secret_error', /differ/);
  });

  it('refuses a secret for a public app', async () => {
    await expectError(await postToken(kf, { ...full('x'), client_id: fx.public.clientId }), 401, 'secret_error', /no client secret/);
  });

  it('answers 401 grant_error for an unknown code', async () => {
    await expectError(await postToken(kf, full('not-a-real-code')), 401, 'grant_error');
  });

  it('answers 401 grant_error for a code used twice', async () => {
    const c = await code();
    await expectToken(await postToken(kf, full(c)));
    await expectError(await postToken(kf, full(c)), 401, 'grant_error');
  });

  it('answers 401 grant_error for a code issued to another app', async () => {
    const pubCode = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
    const other = await seedFixture(kf);
    await expectError(
      await postToken(kf, { ...full(pubCode), client_id: other.confidential.clientId, client_secret: other.confidential.clientSecret }),
      401,
      'grant_error',
    );
  });

  it('answers 401 grant_error for a code older than 10 minutes', async () => {
    const c = await code();
    clock.advance(10 * 60 * 1000 + 1);
    await expectError(await postToken(kf, full(c)), 401, 'grant_error');
  });

  it('a code just under 10 minutes old still works', async () => {
    const c = await code();
    clock.advance(10 * 60 * 1000 - 1000);
    await expectToken(await postToken(kf, full(c)));
  });

  it('answers 403 redirect_failed when redirect_uri differs or is missing, and burns the code', async () => {
    const c = await code();
    await expectError(await postToken(kf, { ...full(c), redirect_uri: `${REDIRECT_URI}/` }), 403, 'redirect_failed', /must match/);
    await expectError(await postToken(kf, full(c)), 401, 'grant_error');
    const { redirect_uri: _r, ...noRedirect } = full(await code());
    await expectError(await postToken(kf, noRedirect), 403, 'redirect_failed');
  });

  it('refuses a parameter sent twice in a form body', async () => {
    const c = await code();
    const body = `${new URLSearchParams(full(c))}&code=${c}`;
    const res = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    await expectError(res, 400, 'wrong_parameter', /code was sent more than once/);
  });

  it('refuses non-string JSON values', async () => {
    const res = await postToken(kf, { ...full('x'), code: 12345 as unknown as string }, { json: true });
    await expectError(res, 400, 'wrong_parameter', /code must be a string/);
  });

  it('refuses malformed JSON and unknown content types in the envelope', async () => {
    const bad = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":' });
    await expectError(bad, 400, 'wrong_parameter');
    const text = await fetch(`${kf.apiUrl}/oauth/token`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    await expectError(text, 415, 'unsupported_media_type');
  });

  it('refuses a body over the size limit with 413 in the envelope', async () => {
    const res = await postToken(kf, { ...full('x'), padding: 'x'.repeat(32 * 1024) });
    await expectError(res, 413, 'payload_too_large');
  });

  it('two simultaneous exchanges of one code give exactly one token', async () => {
    for (let round = 0; round < 3; round++) {
      const c = await code();
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => postToken(kf, full(c), { json: i % 2 === 0 })));
      const statuses = results.map((r) => r.status).sort();
      assert.deepEqual(statuses, [200, 401, 401, 401, 401, 401, 401, 401]);
      for (const r of results) if (r.status === 401) await expectError(r, 401, 'grant_error');
    }
  });

  it('issues a token that works on /users/settings and lives 5 years', async () => {
    const token = await expectToken(await postToken(kf, full(await code())));
    assert.equal((await getSettings(kf, token, fx.confidential.clientId)).status, 200);
    clock.advance(157680000 * 1000 - 60_000);
    assert.equal((await getSettings(kf, token, fx.confidential.clientId)).status, 200);
    clock.advance(120_000);
    assert.equal((await getSettings(kf, token, fx.confidential.clientId)).status, 401);
  });
});
