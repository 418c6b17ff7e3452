/**
 * A replayed authorization code (RFC 6749 §4.1.2, RFC 9700 §4.5, docs/decisions/0070):
 * always refused and logged with ids only; the grant is revoked only when the replay would
 * otherwise have succeeded and the token came from that code alone. Run over HTTP against
 * SQLite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PassThrough } from 'node:stream';
import { approveAndGetCode, getSettings, postToken } from '../helpers/flows.js';
import { ManualClock, REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { dropSchema, freshSchemaUrl } from '../helpers/postgres.js';
import { WebAgent } from '../helpers/web-agent.js';

type Json = Record<string, unknown>;

interface ReplayLine {
  event: string;
  codeAppId: number;
  requestAppId: number;
  userId: number;
  grantId: number | null;
  authenticated: boolean;
  grantRevoked: boolean;
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`authorization code replay (${kind})`, () => {
    const clock = new ManualClock(Date.parse('2026-11-30T12:00:00Z'));
    const pgUrl = kind === 'postgres' ? freshSchemaUrl('replay') : undefined;
    const lines: string[] = [];
    let kf: TestKeyfob;

    before(async () => {
      const stream = new PassThrough();
      stream.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
      kf = await startKeyfob({ clock, logStream: stream, env: { KEYFOB_LOG_LEVEL: 'warn' }, ...(pgUrl ? { database: pgUrl } : {}) });
    });
    after(async () => {
      await kf?.close();
      if (pgUrl) await dropSchema(pgUrl);
    });

    /** A new user (so a first exchange creates the grant), signed in. */
    async function person(): Promise<{ fx: Fixture; agent: WebAgent }> {
      const fx = await seedFixture(kf);
      const agent = new WebAgent(kf.webUrl);
      await agent.signIn(fx.username, fx.password);
      return { fx, agent };
    }
    const full = (fx: Fixture, code: string) => ({
      grant_type: 'authorization_code',
      code,
      client_id: fx.confidential.clientId,
      client_secret: fx.confidential.clientSecret,
      redirect_uri: REDIRECT_URI,
    });
    async function exchange(fx: Fixture, code: string): Promise<string> {
      const res = await postToken(kf, full(fx, code));
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { access_token: string }).access_token;
    }
    async function expectError(res: Response, status: number, error: string): Promise<void> {
      assert.equal(res.status, status);
      const body = (await res.json()) as Json;
      assert.equal(body.error, error);
      assert.equal(body.code, status);
    }
    function replayLines(): ReplayLine[] {
      return lines.map((l) => JSON.parse(l) as ReplayLine & { msg: string }).filter((l) => l.event === 'authorization_code_replayed');
    }
    async function lastReplayLine(): Promise<ReplayLine> {
      const found = replayLines();
      assert.ok(found.length > 0, 'the replay was logged');
      return found[found.length - 1]!;
    }
    const settingsStatus = async (token: string, clientId: string) => {
      const res = await getSettings(kf, token, clientId);
      await res.text();
      return res.status;
    };

    it('a replay that would have succeeded revokes the token the code alone produced, and is logged without the code', async () => {
      const { fx, agent } = await person();
      const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
      const token = await exchange(fx, code);
      assert.equal(await settingsStatus(token, fx.confidential.clientId), 200);

      await expectError(await postToken(kf, full(fx, code)), 401, 'grant_error');
      assert.equal(await settingsStatus(token, fx.confidential.clientId), 401, 'the token issued from the replayed code no longer works');
      const line = await lastReplayLine();
      assert.equal(line.userId, fx.userId);
      assert.equal(line.codeAppId, fx.confidential.appId);
      assert.equal(line.requestAppId, fx.confidential.appId);
      assert.equal(typeof line.grantId, 'number');
      assert.equal(line.authenticated, true);
      assert.equal(line.grantRevoked, true);
      const all = lines.join('\n');
      assert.ok(!all.includes(code), 'the code is not in the logs');
      assert.ok(!all.includes(createHash('sha256').update(code).digest('hex')), "nor is the code's hash");
      assert.ok(!all.includes(token), 'nor the token');

      // Authorizing again gives a new, working token (decision 0003).
      const fresh = await exchange(fx, await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent));
      assert.notEqual(fresh, token);
      assert.equal(await settingsStatus(fresh, fx.confidential.clientId), 200);
    });

    it('a replay without the client secret, or by another client, is refused and logged but revokes nothing', async () => {
      const { fx, agent } = await person();
      const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
      const token = await exchange(fx, code);

      await expectError(await postToken(kf, { ...full(fx, code), client_secret: 'not-the-secret' }), 401, 'secret_error');
      let line = await lastReplayLine();
      assert.deepEqual([line.userId, line.authenticated, line.grantRevoked], [fx.userId, false, false]);

      await expectError(await postToken(kf, { ...full(fx, code), redirect_uri: `${REDIRECT_URI}/x` }), 401, 'grant_error');
      line = await lastReplayLine();
      assert.deepEqual([line.authenticated, line.grantRevoked], [false, false]);

      const other = await seedFixture(kf);
      await expectError(
        await postToken(kf, { ...full(fx, code), client_id: other.confidential.clientId, client_secret: other.confidential.clientSecret }),
        401,
        'grant_error',
      );
      line = await lastReplayLine();
      assert.deepEqual([line.codeAppId, line.requestAppId, line.authenticated, line.grantRevoked], [fx.confidential.appId, other.confidential.appId, false, false]);

      assert.equal(await settingsStatus(token, fx.confidential.clientId), 200, 'the token still works');
    });

    it("a replay never revokes the same token shared with the user's other devices (§5.4)", async () => {
      const { fx, agent } = await person();
      // Device A authorizes first; device B's code then re-issues the same token.
      const tokenA = await exchange(fx, await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent));
      const codeB = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
      assert.equal(await exchange(fx, codeB), tokenA);

      await expectError(await postToken(kf, full(fx, codeB)), 401, 'grant_error');
      const line = await lastReplayLine();
      assert.deepEqual([line.authenticated, line.grantRevoked], [true, false]);
      assert.equal(await settingsStatus(tokenA, fx.confidential.clientId), 200);
    });

    it('nor a token re-authorized since the code created it', async () => {
      const { fx, agent } = await person();
      const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
      const token = await exchange(fx, code);
      clock.advance(1000);
      assert.equal(await exchange(fx, await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent)), token);
      await expectError(await postToken(kf, full(fx, code)), 401, 'grant_error');
      assert.equal((await lastReplayLine()).grantRevoked, false);
      assert.equal(await settingsStatus(token, fx.confidential.clientId), 200);
    });

    it('PKCE: only the right verifier makes a replay count; then the token it produced is revoked', async () => {
      const { fx, agent } = await person();
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const code = await approveAndGetCode(kf, fx, { client_id: fx.public.clientId, code_challenge: challenge, code_challenge_method: 'S256' }, agent);
      const body = { grant_type: 'authorization_code', code, client_id: fx.public.clientId, code_verifier: verifier, redirect_uri: REDIRECT_URI };
      const first = await postToken(kf, body);
      assert.equal(first.status, 200);
      const token = ((await first.json()) as { access_token: string }).access_token;

      await expectError(await postToken(kf, { ...body, code_verifier: randomBytes(32).toString('base64url') }), 401, 'grant_error');
      assert.deepEqual([(await lastReplayLine()).authenticated, (await lastReplayLine()).grantRevoked], [false, false]);
      assert.equal(await settingsStatus(token, fx.public.clientId), 200);

      await expectError(await postToken(kf, body), 401, 'grant_error');
      assert.equal((await lastReplayLine()).grantRevoked, true);
      assert.equal(await settingsStatus(token, fx.public.clientId), 401);
    });

    it('an unknown code is not a replay; a tombstone is swept when the code expires and then reads as unknown', async () => {
      const { fx, agent } = await person();
      const before = replayLines().length;
      await expectError(await postToken(kf, full(fx, randomBytes(32).toString('base64url'))), 401, 'grant_error');
      assert.equal(replayLines().length, before, 'no replay warning for a code that never existed');

      const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId }, agent);
      const token = await exchange(fx, code);
      clock.advance(10 * 60 * 1000);
      const swept = await kf.storage.cleanup(clock.now());
      assert.ok(swept.authCodes >= 1, 'the tombstone is removed with the expired codes');
      await expectError(await postToken(kf, full(fx, code)), 401, 'grant_error');
      assert.equal(replayLines().length, before, 'once swept, the code is simply unknown');
      assert.equal(await settingsStatus(token, fx.confidential.clientId), 200);
    });
  });
}
