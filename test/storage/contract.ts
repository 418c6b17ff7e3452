/**
 * The storage contract: one suite of behaviours every Storage implementation keeps
 * (src/storage/storage.ts), run against SQLite (sqlite.test.ts) and PostgreSQL
 * (postgres.test.ts). Each test makes its own users and apps, so tests share one
 * database without seeing each other's rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { redeemAuthCode } from '../../src/storage/redeem.js';
import {
  ConflictError,
  type CodeConsumption,
  type CodeGrantDecision,
  type Storage,
  type V1GrantRequest,
} from '../../src/storage/storage.js';
import { code, grantReq, hex, pin, T0, unique, wellFormedCode } from './fixtures.js';

export interface StorageHarness {
  /** A fresh, empty, migrated storage over a database nobody else uses. */
  open(): Promise<Storage>;
  /** Another connection (another "instance") to the same database as `first`, already migrated. */
  openPeer(first: Storage): Promise<Storage>;
  /** A fresh database, not yet migrated, and a way to open more connections to it (for migrate races). */
  openUnmigrated(): Promise<{ storages: Storage[]; more(): Promise<Storage> }>;
  /** Removes every database this harness made. */
  destroy(): Promise<void>;
}

export function defineStorageContract(name: string, harness: StorageHarness): void {
  describe(`storage contract: ${name}`, () => {
    let s: Storage;
    let peer: Storage;

    before(async () => {
      s = await harness.open();
      peer = await harness.openPeer(s);
    });
    after(async () => {
      await peer?.close();
      await s?.close();
      await harness.destroy();
    });

    async function user(username = unique('user')) {
      return s.createUser({ username, passwordHash: 'argon2-hash', createdAt: T0 });
    }
    async function app(ownerId: number, opts: { secretHash?: string | null; uris?: string[] } = {}) {
      return s.createApp({
        clientId: hex(16),
        ownerId,
        name: unique('App '),
        redirectUris: opts.uris ?? ['http://127.0.0.1:8765/callback'],
        secretHash: opts.secretHash === undefined ? hex() : opts.secretHash,
        createdAt: T0,
      });
    }
    describe('migrations', () => {
      it('applies nothing the second time and answers ping', async () => {
        assert.deepEqual(await s.migrate(), []);
        await s.ping();
        assert.equal(s.kind, name);
      });

      it('applies each version exactly once when three instances migrate a fresh database at once', async () => {
        const fresh = await harness.openUnmigrated();
        try {
          const results = await Promise.all(fresh.storages.map((x) => x.migrate()));
          const all = results.flat();
          assert.ok(all.length > 0, 'some migration was applied');
          assert.equal(new Set(all).size, all.length, `a version was applied twice: ${JSON.stringify(results)}`);
          assert.equal(results.filter((r) => r.length > 0).length, 1, 'one instance applied everything');
          const late = await fresh.more();
          fresh.storages.push(late);
          assert.deepEqual(await late.migrate(), []);
          assert.equal(await late.countUsers(), 0);
        } finally {
          for (const x of fresh.storages) await x.close();
        }
      });
    });

    describe('users', () => {
      it('creates a user with defaults and finds it by id and by name in any case', async () => {
        const name = unique('Alice');
        const u = await user(name);
        assert.equal(u.username, name);
        assert.equal(u.passwordHash, 'argon2-hash');
        assert.equal(u.displayName, name);
        assert.equal(u.timezone, 'UTC');
        assert.equal(u.accountType, 'free');
        assert.deepEqual([u.gender, u.avatar, u.bio, u.loc, u.age], ['', '', '', '', '']);
        assert.equal(u.createdAt, T0);
        assert.equal(typeof u.id, 'number');
        assert.deepEqual(await s.findUserById(u.id), u);
        assert.deepEqual(await s.findUserByUsername(name.toUpperCase()), u);
        assert.deepEqual(await s.findUserByUsername(name.toLowerCase()), u);
        assert.equal(await s.findUserByUsername(unique('nobody')), null);
        assert.equal(await s.findUserById(987_654_321), null);
      });

      it('keeps display name and timezone when given', async () => {
        const u = await s.createUser({ username: unique('bob'), passwordHash: 'h', displayName: 'Bob B', timezone: 'Europe/Paris', createdAt: T0 });
        assert.equal(u.displayName, 'Bob B');
        assert.equal(u.timezone, 'Europe/Paris');
      });

      it('refuses a username that differs only in case with ConflictError', async () => {
        const name = unique('carol');
        await user(name);
        await assert.rejects(user(name.toUpperCase()), ConflictError);
      });

      it('counts users', async () => {
        const before = await s.countUsers();
        await user();
        await user();
        assert.equal(await s.countUsers(), before + 2);
      });
    });

    describe('apps', () => {
      it('creates confidential and public apps and reads them back with the owner name', async () => {
        const owner = await user();
        const conf = await app(owner.id, { uris: ['http://a/cb', 'myapp://cb'] });
        const pub = await app(owner.id, { secretHash: null, uris: [] });
        assert.equal(conf.ownerId, owner.id);
        assert.equal(conf.ownerName, owner.username);
        assert.deepEqual(conf.redirectUris, ['http://a/cb', 'myapp://cb']);
        assert.equal(conf.dialect, 'v1');
        assert.equal(conf.createdAt, T0);
        assert.equal(conf.updatedAt, T0);
        assert.equal(pub.secretHash, null);
        assert.deepEqual(pub.redirectUris, []);
        assert.deepEqual(await s.findAppByClientId(conf.clientId), conf);
        assert.deepEqual(await s.findAppById(pub.id), pub);
        assert.equal(await s.findAppByClientId(hex(16)), null);
        assert.equal(await s.findAppById(987_654_321), null);
      });

      it('lists all apps and an owner\'s apps in creation order', async () => {
        const a = await user();
        const b = await user();
        const a1 = await app(a.id);
        const b1 = await app(b.id);
        const a2 = await app(a.id);
        assert.deepEqual((await s.listAppsByOwner(a.id)).map((x) => x.id), [a1.id, a2.id]);
        const all = (await s.listApps()).map((x) => x.id);
        assert.ok(all.indexOf(a1.id) < all.indexOf(b1.id) && all.indexOf(b1.id) < all.indexOf(a2.id));
      });

      it('updates redirect URIs, secret hash and name, stamping updatedAt', async () => {
        const owner = await user();
        const a = await app(owner.id);
        await s.updateAppRedirectUris(a.id, ['https://x/cb'], T0 + 1);
        assert.deepEqual((await s.findAppById(a.id))!.redirectUris, ['https://x/cb']);
        await s.updateAppSecretHash(a.id, 'new-hash', T0 + 2);
        assert.equal((await s.findAppById(a.id))!.secretHash, 'new-hash');
        await s.updateAppName(a.id, 'Renamed', T0 + 3);
        const after = (await s.findAppById(a.id))!;
        assert.equal(after.name, 'Renamed');
        assert.equal(after.updatedAt, T0 + 3);
        assert.equal(after.createdAt, T0);
      });

      it('deletes an app with its codes, grants, tokens and PINs', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        const req = grantReq(owner.id, a.id);
        const g = await s.upsertV1Grant(req);
        const p = pin(a.id);
        assert.equal(await s.createPin(p), true);
        await s.deleteApp(a.id);
        assert.equal(await s.findAppById(a.id), null);
        assert.deepEqual(await s.consumeAuthCode(c.codeHash, T0), { kind: 'unknown' });
        assert.equal(await s.findGrantById(g.id), null);
        assert.equal(await s.findAccessToken(req.tokenHash, T0), null);
        assert.equal(await s.findPin(p.userCode), null);
      });
    });

    describe('authorization codes', () => {
      it('gives a code back once, whole; then tells a replay apart from an unknown code', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id, { codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', codeChallengeMethod: 'S256', redirectUri: null });
        await s.saveAuthCode(c);
        assert.deepEqual(await s.consumeAuthCode(c.codeHash, T0 + 5), { kind: 'fresh', code: c });
        const replay = { kind: 'replayed', code: c, consumedAt: T0 + 5, grantId: null, grantCreated: false };
        assert.deepEqual(await s.consumeAuthCode(c.codeHash, T0 + 6), replay);
        // The first consumption time stays: a replay does not move it.
        assert.deepEqual(await peer.consumeAuthCode(c.codeHash, T0 + 7), replay);
        assert.deepEqual(await s.consumeAuthCode(hex(), T0), { kind: 'unknown' });
      });

      it('remembers the grant the first exchange produced, and whether it created it', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        assert.equal((await s.consumeAuthCode(c.codeHash, T0)).kind, 'fresh');
        // The exchange records its grant on the code in the upsert's transaction (decision 0082).
        const g = await s.upsertV1Grant({ ...grantReq(owner.id, a.id), authCodeHash: c.codeHash });
        assert.deepEqual(await peer.consumeAuthCode(c.codeHash, T0 + 1), { kind: 'replayed', code: c, consumedAt: T0, grantId: g.id, grantCreated: true });
        const c2 = code(a.id, owner.id);
        await s.saveAuthCode(c2);
        await s.consumeAuthCode(c2.codeHash, T0);
        await s.upsertV1Grant({ ...grantReq(owner.id, a.id), authCodeHash: c2.codeHash });
        assert.deepEqual(await s.consumeAuthCode(c2.codeHash, T0 + 1), { kind: 'replayed', code: c2, consumedAt: T0, grantId: g.id, grantCreated: false });
      });

      it('returns an expired code too (the caller checks expiry)', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id, { expiresAt: T0 - 1, appName: null, appVersion: null, userAgent: null });
        await s.saveAuthCode(c);
        assert.deepEqual(await s.consumeAuthCode(c.codeHash, T0), { kind: 'fresh', code: c });
      });

      it('of 20 concurrent consumers on two connections, exactly one receives the code and 19 see a replay', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        const got = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? peer : s).consumeAuthCode(c.codeHash, T0 + i)));
        assert.equal(got.filter((x) => x.kind === 'fresh').length, 1);
        assert.equal(got.filter((x) => x.kind === 'replayed').length, 19);
        const winner = got.findIndex((x) => x.kind === 'fresh');
        for (const x of got) if (x.kind === 'replayed') assert.equal(x.consumedAt, T0 + winner);
      });
    });

    /**
     * Redemption: consumption, the exchange's decision and the grant upsert. SQLite does it
     * as one write (Storage.redeemAuthCode); PostgreSQL through the fallback of two calls.
     * The outcome is the same either way.
     */
    describe(`code redemption (${name})`, () => {
      /** A decision that issues `issue` for a fresh code and nothing otherwise, remembering what it saw. */
      function deciding(issue: Omit<V1GrantRequest, 'authCodeHash'>): CodeGrantDecision & { seen: CodeConsumption[] } {
        const seen: CodeConsumption[] = [];
        return Object.assign((c: CodeConsumption) => (seen.push(c), c.kind === 'fresh' ? issue : null), { seen });
      }

      it('issues the grant for a fresh code, and its tombstone records the grant for a replay', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        const req = grantReq(owner.id, a.id, { flow: 'pkce' });
        const decide = deciding(req);
        const first = await redeemAuthCode(s, c.codeHash, T0 + 5, decide);
        assert.deepEqual(decide.seen, [{ kind: 'fresh', code: c }]);
        assert.deepEqual(first.consumption, { kind: 'fresh', code: c });
        assert.ok(first.issued);
        assert.deepEqual(first.issued, { grantId: first.issued.grantId, tokenSeed: req.tokenSeed, created: true });
        const g = (await s.findGrantById(first.issued.grantId))!;
        assert.deepEqual([g.userId, g.appId, g.flow, g.tokenSeed, g.createdAt, g.authorizedAt], [owner.id, a.id, 'pkce', req.tokenSeed, T0, T0]);
        assert.equal((await peer.findAccessToken(req.tokenHash, T0))?.grantId, g.id);

        const replay = deciding(grantReq(owner.id, a.id));
        const second = await redeemAuthCode(peer, c.codeHash, T0 + 6, replay);
        const replayed = { kind: 'replayed', code: c, consumedAt: T0 + 5, grantId: g.id, grantCreated: true };
        assert.deepEqual(replay.seen, [replayed]);
        assert.deepEqual(second, { consumption: replayed, issued: null });
        assert.equal((await s.listConnectedApps(owner.id)).length, 1);
      });

      it('refreshes the live grant for a later code: same seed, not created, and the new token is not stored', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const first = grantReq(owner.id, a.id);
        const live = await s.upsertV1Grant(first);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        const req = grantReq(owner.id, a.id, { now: T0 + 100, tokenExpiresAt: T0 + 5_000_000 });
        const { issued } = await redeemAuthCode(s, c.codeHash, T0 + 100, deciding(req));
        assert.deepEqual(issued, { grantId: live.id, tokenSeed: live.tokenSeed, created: false });
        assert.equal(await s.findAccessToken(req.tokenHash, T0), null);
        assert.equal((await s.findGrantById(live.id))!.authorizedAt, T0 + 100);
        // The live grant's token lives on from this authorization (§5.4), seen by another connection too.
        assert.equal((await s.findAccessToken(first.tokenHash, T0 + 100))?.expiresAt, T0 + 5_000_000);
        assert.equal((await peer.findAccessToken(first.tokenHash, first.tokenExpiresAt + 1))?.expiresAt, T0 + 5_000_000);
        assert.deepEqual(await s.consumeAuthCode(c.codeHash, T0 + 101), { kind: 'replayed', code: c, consumedAt: T0 + 100, grantId: live.id, grantCreated: false });
      });

      it('consumes the code whatever the decision: a throw reaches the caller after the code is consumed (§5.4)', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        const refused = new Error('Wrong Secret');
        let calls = 0;
        await assert.rejects(
          redeemAuthCode(s, c.codeHash, T0 + 7, () => {
            calls++;
            throw refused;
          }),
          (err) => err === refused,
        );
        assert.equal(calls, 1);
        assert.deepEqual(await peer.consumeAuthCode(c.codeHash, T0 + 8), { kind: 'replayed', code: c, consumedAt: T0 + 7, grantId: null, grantCreated: false });
        assert.deepEqual(await s.listConnectedApps(owner.id), []);

        // Issuing nothing for a fresh code consumes it too.
        const c2 = code(a.id, owner.id);
        await s.saveAuthCode(c2);
        assert.deepEqual(await redeemAuthCode(s, c2.codeHash, T0 + 9, () => null), { consumption: { kind: 'fresh', code: c2 }, issued: null });
        assert.equal((await s.consumeAuthCode(c2.codeHash, T0 + 10)).kind, 'replayed');
      });

      it('an unknown code: the decision sees it, and nothing is written', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const decide = deciding(grantReq(owner.id, a.id));
        assert.deepEqual(await redeemAuthCode(s, hex(), T0, decide), { consumption: { kind: 'unknown' }, issued: null });
        assert.deepEqual(decide.seen, [{ kind: 'unknown' }]);
        assert.deepEqual(await s.listConnectedApps(owner.id), []);
      });

      it('of 10 concurrent redemptions of one code on two connections, exactly one issues a grant and 9 see a replay', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        const got = await Promise.all(
          Array.from({ length: 10 }, (_, i) => redeemAuthCode(i % 2 ? peer : s, c.codeHash, T0 + i, deciding(grantReq(owner.id, a.id)))),
        );
        const winners = got.filter((r) => r.issued !== null);
        assert.equal(winners.length, 1);
        assert.equal(winners[0]!.consumption.kind, 'fresh');
        assert.equal(got.filter((r) => r.consumption.kind === 'replayed' && r.issued === null).length, 9);
        assert.equal((await s.listConnectedApps(owner.id)).length, 1);
        const tombstone = await s.consumeAuthCode(c.codeHash, T0 + 20);
        assert.ok(tombstone.kind === 'replayed');
        assert.deepEqual([tombstone.grantId, tombstone.grantCreated], [winners[0]!.issued!.grantId, true]);
      });

      it('an upsert that fails leaves no grant and no token, and the code consumed', async () => {
        const owner = await user();
        const other = await user();
        const a = await app(owner.id);
        const taken = grantReq(other.id, a.id);
        const existing = await s.upsertV1Grant(taken);
        const c = code(a.id, owner.id);
        await s.saveAuthCode(c);
        // The new grant's row goes in first; its token then clashes with a stored one.
        const clash = grantReq(owner.id, a.id, { tokenHash: taken.tokenHash });
        await assert.rejects(redeemAuthCode(s, c.codeHash, T0 + 3, deciding(clash)));
        assert.deepEqual(await s.listConnectedApps(owner.id), []);
        assert.equal((await s.findAccessToken(taken.tokenHash, T0))?.grantId, existing.id);
        assert.deepEqual(await peer.consumeAuthCode(c.codeHash, T0 + 4), { kind: 'replayed', code: c, consumedAt: T0 + 3, grantId: null, grantCreated: false });
        // Nothing half-done is left in the way of the next authorization.
        const after = await s.upsertV1Grant(grantReq(owner.id, a.id, { now: T0 + 5 }));
        assert.equal(after.createdAt, T0 + 5);
      });
    });

    describe('grants and tokens', () => {
      it('creates a live V1 grant with its token on first authorization', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const req = grantReq(owner.id, a.id, { flow: 'pkce' });
        const g = await s.upsertV1Grant(req);
        assert.equal(g.userId, owner.id);
        assert.equal(g.appId, a.id);
        assert.equal(g.dialect, 'v1');
        assert.equal(g.scope, 'public');
        assert.equal(g.tokenSeed, req.tokenSeed);
        assert.equal(g.flow, 'pkce');
        assert.deepEqual([g.appName, g.appVersion, g.userAgent], ['kodi', '1.0', 'UA/1']);
        assert.deepEqual([g.createdAt, g.authorizedAt, g.revokedAt, g.requestCount, g.lastUsedAt], [T0, T0, null, 0, null]);
        assert.deepEqual(await s.findGrantById(g.id), g);
        assert.deepEqual(await s.findAccessToken(req.tokenHash, T0), {
          grantId: g.id,
          userId: owner.id,
          appId: a.id,
          clientId: a.clientId,
          dialect: 'v1',
          scope: 'public',
          expiresAt: req.tokenExpiresAt,
        });
        assert.equal(await s.findGrantById(987_654_321), null);
      });

      it('returns the same grant on re-authorization, refreshing time, flow, client meta and token expiry', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const first = grantReq(owner.id, a.id);
        const g1 = await s.upsertV1Grant(first);
        const again = grantReq(owner.id, a.id, { flow: 'pin', now: T0 + 5000, tokenExpiresAt: T0 + 2_000_000, appName: null, appVersion: '2.0', userAgent: null });
        let mints = 0;
        const g2 = await s.upsertV1Grant({ ...again, mintToken: () => (mints++, again.mintToken()) });
        // A storage may mint before it knows the grant is live, but at most once, and the live grant keeps its seed.
        assert.ok(mints <= 1);
        assert.equal(await s.findAccessToken(again.tokenHash, T0), null);
        assert.equal(g2.id, g1.id);
        assert.equal(g2.tokenSeed, first.tokenSeed);
        assert.equal(g2.flow, 'pin');
        assert.equal(g2.authorizedAt, T0 + 5000);
        assert.equal(g2.createdAt, T0);
        // Absent client meta keeps what was recorded before.
        assert.deepEqual([g2.appName, g2.appVersion, g2.userAgent], ['kodi', '2.0', 'UA/1']);
        assert.equal((await s.findAccessToken(first.tokenHash, T0 + 1_500_000))?.expiresAt, T0 + 2_000_000);
      });

      it('of 10 concurrent first authorizations on two connections, all receive one and the same grant', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const grants = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? peer : s).upsertV1Grant(grantReq(owner.id, a.id))));
        const ids = new Set(grants.map((g) => g.id));
        const seeds = new Set(grants.map((g) => g.tokenSeed));
        assert.equal(ids.size, 1);
        assert.equal(seeds.size, 1);
        assert.equal((await s.listConnectedApps(owner.id)).length, 1);
      });

      it('finds a token only while it is unexpired and its grant is live', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const req = grantReq(owner.id, a.id, { tokenExpiresAt: T0 + 1000 });
        await s.upsertV1Grant(req);
        assert.notEqual(await s.findAccessToken(req.tokenHash, T0 + 999), null);
        assert.equal(await s.findAccessToken(req.tokenHash, T0 + 1000), null);
        assert.equal(await s.findAccessToken(hex(), T0), null);
      });

      it('finds a token with its user in one call, only while the token is unexpired and its grant live (seen by another connection)', async () => {
        assert.ok(s.findAccessTokenWithUser && peer.findAccessTokenWithUser, `${name} offers the combined lookup`);
        const owner = await user();
        const a = await app(owner.id);
        const req = grantReq(owner.id, a.id, { tokenExpiresAt: T0 + 1000 });
        const g = await s.upsertV1Grant(req);
        assert.deepEqual(await peer.findAccessTokenWithUser(req.tokenHash, T0 + 999), {
          lookup: await s.findAccessToken(req.tokenHash, T0 + 999),
          user: await s.findUserById(owner.id),
        });
        assert.equal(await peer.findAccessTokenWithUser(req.tokenHash, T0 + 1000), null);
        assert.equal(await peer.findAccessTokenWithUser(hex(), T0), null);
        assert.equal(await s.revokeGrant(g.id, owner.id, T0 + 1), true);
        assert.equal(await peer.findAccessTokenWithUser(req.tokenHash, T0 + 2), null);
      });

      it('revokes only for the owning user, deletes the token at once (seen by another connection) and detaches PINs', async () => {
        const owner = await user();
        const other = await user();
        const a = await app(owner.id);
        const req = grantReq(owner.id, a.id);
        const g = await s.upsertV1Grant(req);
        const p = pin(a.id);
        await s.createPin(p);
        assert.equal(await s.approvePin(p.userCode, g.id, T0), true);
        assert.notEqual(await peer.findAccessToken(req.tokenHash, T0), null);

        assert.equal(await s.revokeGrant(g.id, other.id, T0 + 1), false);
        assert.notEqual(await peer.findAccessToken(req.tokenHash, T0), null);
        assert.equal(await s.revokeGrant(g.id, owner.id, T0 + 1), true);
        assert.equal(await peer.findAccessToken(req.tokenHash, T0), null);
        assert.equal((await s.findGrantById(g.id))!.revokedAt, T0 + 1);
        assert.equal((await s.findPin(p.userCode))!.grantId, null);
        assert.equal(await s.revokeGrant(g.id, owner.id, T0 + 2), false);
        assert.equal(await s.revokeGrant(987_654_321, owner.id, T0 + 2), false);

        // After a revoke the next authorization makes a new grant with the new seed.
        const again = grantReq(owner.id, a.id, { now: T0 + 3 });
        const g2 = await s.upsertV1Grant(again);
        assert.notEqual(g2.id, g.id);
        assert.equal(g2.tokenSeed, again.tokenSeed);
        assert.notEqual(await s.findAccessToken(again.tokenHash, T0 + 3), null);
      });

      it('lists live connected apps, most recently authorized first', async () => {
        const owner = await user();
        const a1 = await app(owner.id);
        const a2 = await app(owner.id);
        const a3 = await app(owner.id);
        await s.upsertV1Grant(grantReq(owner.id, a1.id, { now: T0 + 10 }));
        await s.upsertV1Grant(grantReq(owner.id, a2.id, { now: T0 + 30 }));
        const g3 = await s.upsertV1Grant(grantReq(owner.id, a3.id, { now: T0 + 20 }));
        await s.revokeGrant(g3.id, owner.id, T0 + 40);
        const list = await s.listConnectedApps(owner.id);
        assert.deepEqual(
          list.map((c) => [c.appName, c.clientId, c.ownerName]),
          [
            [a2.name, a2.clientId, owner.username],
            [a1.name, a1.clientId, owner.username],
          ],
        );
        assert.equal(list[0]!.grant.appId, a2.id);
      });

      it('adds batched usage counts and keeps the latest use time', async () => {
        const owner = await user();
        const a1 = await app(owner.id);
        const a2 = await app(owner.id);
        const g1 = await s.upsertV1Grant(grantReq(owner.id, a1.id));
        const g2 = await s.upsertV1Grant(grantReq(owner.id, a2.id));
        await s.recordGrantUsage(new Map([[g1.id, { count: 3, lastUsedAt: T0 + 100 }], [g2.id, { count: 1, lastUsedAt: T0 + 50 }]]));
        await peer.recordGrantUsage(new Map([[g1.id, { count: 2, lastUsedAt: T0 + 80 }]]));
        await s.recordGrantUsage(new Map());
        const r1 = (await s.findGrantById(g1.id))!;
        const r2 = (await s.findGrantById(g2.id))!;
        assert.deepEqual([r1.requestCount, r1.lastUsedAt], [5, T0 + 100]);
        assert.deepEqual([r2.requestCount, r2.lastUsedAt], [1, T0 + 50]);
      });
    });

    describe('PINs', () => {
      it('stores a PIN and refuses a second live PIN with the same code', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id, { redirect: 'http://127.0.0.1:8765/callback' });
        assert.equal(await s.createPin(p), true);
        assert.deepEqual(await s.findPin(p.userCode), p);
        assert.equal(await s.createPin({ ...p, appName: 'other' }), false);
        assert.equal((await s.findPin(p.userCode))!.appName, 'tv');
        assert.equal(await s.findPin('NOSUCHPIN'), null);
      });

      it('reads what a poll needs of a PIN, its approval and first poll seen through another instance', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id);
        assert.equal(await s.createPin(p), true);
        assert.deepEqual(await s.findPinPollState(p.userCode, T0), { userCode: p.userCode, appId: a.id, expiresAt: p.expiresAt, grantId: null, lastPolledAt: null, answeredAt: -Infinity });
        assert.equal(await s.touchPinPoll(p.userCode, T0 + 5), null);
        const g = await s.upsertV1Grant(grantReq(owner.id, a.id, { flow: 'pin' }));
        assert.equal(await s.approvePin(p.userCode, g.id, T0 + 6), true);
        assert.deepEqual(await peer.findPinPollState(p.userCode, T0 + 7), { userCode: p.userCode, appId: a.id, expiresAt: p.expiresAt, grantId: g.id, lastPolledAt: T0 + 5, answeredAt: -Infinity });
        assert.equal(await s.findPinPollState('NOSUCHPIN', T0 + 7), null);
      });

      it('keeps this process\'s answer time beside a PIN\'s poll state, for this instance only, until the PIN is gone (decision 0095)', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id, { userCode: wellFormedCode() });
        const state = { userCode: p.userCode, appId: a.id, expiresAt: p.expiresAt, grantId: null, lastPolledAt: null };
        assert.equal(await s.createPin(p), true);
        assert.deepEqual(await s.findPinPollState(p.userCode, T0), { ...state, answeredAt: -Infinity });
        s.notePinAnswered(p.userCode, T0 + 1);
        assert.deepEqual(await s.findPinPollState(p.userCode, T0 + 2), { ...state, answeredAt: T0 + 1 });
        assert.deepEqual(await peer.findPinPollState(p.userCode, T0 + 2), { ...state, answeredAt: -Infinity }, 'another instance keeps its own');
        // A first poll written by another instance is read here, and this instance's answer time stays.
        assert.equal(await peer.touchPinPoll(p.userCode, T0 + 3), null);
        assert.deepEqual(await s.findPinPollState(p.userCode, T0 + 4), { ...state, lastPolledAt: T0 + 3, answeredAt: T0 + 1 });
        // Approved here: seen at once.
        const g = await s.upsertV1Grant(grantReq(owner.id, a.id, { flow: 'pin' }));
        assert.equal(await s.approvePin(p.userCode, g.id, T0 + 5), true);
        assert.deepEqual(await s.findPinPollState(p.userCode, T0 + 6), { ...state, grantId: g.id, lastPolledAt: T0 + 3, answeredAt: T0 + 1 });
        // Collected: gone, and a new PIN taking the code starts unanswered.
        assert.equal((await s.consumeApprovedPin(p.userCode, a.id))?.grantId, g.id);
        assert.equal(await s.findPinPollState(p.userCode, T0 + 7), null);
        const next = { ...p, createdAt: T0 + 8, expiresAt: T0 + 900_000 };
        assert.equal(await s.createPin(next), true);
        assert.deepEqual(await s.findPinPollState(p.userCode, T0 + 9), { ...state, expiresAt: T0 + 900_000, answeredAt: -Infinity });
        s.notePinAnswered(p.userCode, T0 + 10);
        await s.deletePin(p.userCode);
        assert.equal(await s.findPinPollState(p.userCode, T0 + 11), null);
        // An answer noted for a code no PIN holds is not kept.
        s.notePinAnswered(p.userCode, T0 + 12);
        assert.equal(await s.createPin({ ...next, createdAt: T0 + 13 }), true);
        assert.equal((await s.findPinPollState(p.userCode, T0 + 14))?.answeredAt, -Infinity);
      });

      // Offered where each call is a round trip: PostgreSQL (decision 0089). SQLite answers both lookups from its cache.
      if (name === 'postgres') {
        it('reads a poll\'s app and PIN state in one call, as the two lookups would', async () => {
          assert.ok(s.findAppAndPinPollState && peer.findAppAndPinPollState);
          const owner = await user();
          const a = await app(owner.id);
          const p = pin(a.id);
          assert.equal(await s.createPin(p), true);
          assert.deepEqual(await s.findAppAndPinPollState(a.clientId, p.userCode, T0), { app: await s.findAppByClientId(a.clientId), pin: await s.findPinPollState(p.userCode, T0) });
          assert.deepEqual(await s.findAppAndPinPollState(a.clientId, 'NOSUCHPIN', T0), { app: await s.findAppByClientId(a.clientId), pin: null });
          assert.equal(await s.findAppAndPinPollState('no-such-client', p.userCode, T0), null);
          // Approval and the first poll, written through one instance, read through another.
          assert.equal(await s.touchPinPoll(p.userCode, T0 + 5), null);
          const g = await s.upsertV1Grant(grantReq(owner.id, a.id, { flow: 'pin' }));
          assert.equal(await s.approvePin(p.userCode, g.id, T0 + 6), true);
          assert.deepEqual((await peer.findAppAndPinPollState(a.clientId, p.userCode, T0 + 7))?.pin, { userCode: p.userCode, appId: a.id, expiresAt: p.expiresAt, grantId: g.id, lastPolledAt: T0 + 5, answeredAt: -Infinity });
          // The one-call read carries this instance's answer time too.
          const w = pin(a.id, { userCode: wellFormedCode() });
          assert.equal(await s.createPin(w), true);
          assert.equal((await s.findAppAndPinPollState(a.clientId, w.userCode, T0))?.pin?.answeredAt, -Infinity);
          s.notePinAnswered(w.userCode, T0 + 1);
          assert.equal((await s.findAppAndPinPollState(a.clientId, w.userCode, T0 + 2))?.pin?.answeredAt, T0 + 1);
        });
      }

      it('lets a new PIN take the code of an expired one', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id, { expiresAt: T0 + 10 });
        await s.createPin(p);
        const fresh = { ...p, createdAt: T0 + 10, expiresAt: T0 + 1000, appName: 'new' };
        assert.equal(await s.createPin(fresh), true);
        assert.deepEqual(await s.findPin(p.userCode), fresh);
      });

      it('of concurrent creators of one code, exactly one succeeds', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id);
        const res = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? peer : s).createPin(p)));
        assert.equal(res.filter(Boolean).length, 1);
      });

      it('counts live PINs per app', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const b = await app(owner.id);
        await s.createPin(pin(a.id));
        await s.createPin(pin(a.id, { expiresAt: T0 + 5 }));
        await s.createPin(pin(b.id));
        assert.equal(await s.countLivePinsForApp(a.id, T0 + 1), 2);
        assert.equal(await s.countLivePinsForApp(a.id, T0 + 5), 1);
        assert.equal(await s.countLivePinsForApp(b.id, T0 + 1), 1);
      });

      it('records polls and returns the previous poll time', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id);
        await s.createPin(p);
        assert.equal(await s.touchPinPoll(p.userCode, T0 + 1000), null);
        assert.equal(await peer.touchPinPoll(p.userCode, T0 + 6000), T0 + 1000);
        assert.equal((await s.findPin(p.userCode))!.lastPolledAt, T0 + 6000);
        assert.equal(await s.touchPinPoll('NOSUCHPIN', T0), null);
      });

      it('approves once, not after expiry, and hands the approved PIN out once to its own app', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const b = await app(owner.id);
        const g = await s.upsertV1Grant(grantReq(owner.id, a.id));
        const p = pin(a.id);
        await s.createPin(p);
        assert.equal(await s.consumeApprovedPin(p.userCode, a.id), null, 'not approved yet');
        assert.equal(await s.approvePin(p.userCode, g.id, T0 + 900_000), false, 'expired');
        assert.equal(await s.approvePin(p.userCode, g.id, T0 + 1), true);
        assert.equal(await s.approvePin(p.userCode, g.id, T0 + 2), false, 'already approved');
        assert.equal(await s.approvePin('NOSUCHPIN', g.id, T0), false);
        assert.equal(await s.consumeApprovedPin(p.userCode, b.id), null, 'another app');
        const got = await s.consumeApprovedPin(p.userCode, a.id);
        assert.deepEqual(got, { ...p, grantId: g.id });
        assert.equal(await s.consumeApprovedPin(p.userCode, a.id), null);
      });

      it('a PIN approved through one instance is collected by a device polling another, once', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id);
        assert.equal(await peer.createPin(p), true);
        const g = await s.upsertV1Grant(grantReq(owner.id, a.id, { flow: 'pin' }));
        assert.equal(await s.approvePin(p.userCode, g.id, T0 + 1), true);
        const polls = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? s : peer).consumeApprovedPin(p.userCode, a.id)));
        const won = polls.filter((x) => x !== null);
        assert.equal(won.length, 1);
        assert.equal(won[0]!.grantId, g.id);
      });

      it('counts wrong tries and deletes PINs', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const p = pin(a.id);
        await s.createPin(p);
        assert.equal(await s.addPinFailure(p.userCode), 1);
        assert.equal(await peer.addPinFailure(p.userCode), 2);
        assert.equal((await s.findPin(p.userCode))!.failedAttempts, 2);
        assert.equal(await s.addPinFailure('NOSUCHPIN'), 0);
        await s.deletePin(p.userCode);
        assert.equal(await s.findPin(p.userCode), null);
        await s.deletePin(p.userCode);
      });

      it('finds exactly the live PINs among many codes in one call', async () => {
        const owner = await user();
        const a = await app(owner.id);
        const live1 = pin(a.id, { createdAt: T0, expiresAt: T0 + 60_000 });
        const live2 = pin(a.id, { createdAt: T0, expiresAt: T0 + 60_000 });
        const dead = pin(a.id, { createdAt: T0 - 1000, expiresAt: T0 }); // expires exactly now: not live
        for (const p of [live1, live2, dead]) assert.equal(await s.createPin(p), true);
        const found = await peer.findLivePinsByCodes([live1.userCode, dead.userCode, 'NOSUCHPIN', live2.userCode], T0);
        assert.deepEqual(found.map((p) => p.userCode).sort(), [live1.userCode, live2.userCode].sort());
        assert.equal(found[0]!.appId, a.id);
        assert.deepEqual(await s.findLivePinsByCodes([], T0), []);
        const many = Array.from({ length: 300 }, (_, i) => `X${i}`);
        assert.deepEqual((await s.findLivePinsByCodes([...many, live2.userCode], T0)).map((p) => p.userCode), [live2.userCode]);
      });
    });

    describe('sessions', () => {
      it('finds a session until it expires, from any connection, and deletes it', async () => {
        const u = await user();
        const sess = { idHash: hex(), userId: u.id, createdAt: T0, expiresAt: T0 + 1000 };
        await s.createSession(sess);
        assert.deepEqual(await peer.findSession(sess.idHash, T0 + 999), sess);
        assert.equal(await s.findSession(sess.idHash, T0 + 1000), null);
        assert.equal(await s.findSession(hex(), T0), null);
        await peer.deleteSession(sess.idHash);
        assert.equal(await s.findSession(sess.idHash, T0), null);
      });
    });

    describe('cleanup', () => {
      it('removes a consumed code\'s tombstone once the code expires, not before', async () => {
        const base = T0 + 20_000_000_000;
        await s.cleanup(base);
        const u = await user();
        const a = await app(u.id);
        const c = code(a.id, u.id, { createdAt: base, expiresAt: base + 600_000 });
        await s.saveAuthCode(c);
        assert.equal((await s.consumeAuthCode(c.codeHash, base + 1)).kind, 'fresh');
        assert.deepEqual(await s.cleanup(base + 599_999), { authCodes: 0, pins: 0, sessions: 0 });
        assert.equal((await s.consumeAuthCode(c.codeHash, base + 2)).kind, 'replayed');
        assert.deepEqual(await s.cleanup(base + 600_000), { authCodes: 1, pins: 0, sessions: 0 });
        assert.deepEqual(await s.consumeAuthCode(c.codeHash, base + 600_001), { kind: 'unknown' });
      });

      it('removes expired codes, PINs and sessions, keeps live ones, and reports counts', async () => {
        // Far-future times so rows of other tests (all around T0) are the "expired" baseline we measure against.
        const base = T0 + 10_000_000_000;
        await s.cleanup(base);
        const u = await user();
        const a = await app(u.id);
        const deadCode = code(a.id, u.id, { expiresAt: base + 10 });
        const liveCode = code(a.id, u.id, { expiresAt: base + 20 });
        await s.saveAuthCode(deadCode);
        await s.saveAuthCode(liveCode);
        const deadPin = pin(a.id, { expiresAt: base + 10 });
        const livePin = pin(a.id, { expiresAt: base + 20 });
        await s.createPin(deadPin);
        await s.createPin(livePin);
        await s.createSession({ idHash: 'dead' + hex(), userId: u.id, createdAt: base, expiresAt: base + 10 });
        const live = { idHash: 'live' + hex(), userId: u.id, createdAt: base, expiresAt: base + 20 };
        await s.createSession(live);

        assert.deepEqual(await s.cleanup(base + 10), { authCodes: 1, pins: 1, sessions: 1 });
        assert.deepEqual(await s.cleanup(base + 10), { authCodes: 0, pins: 0, sessions: 0 });
        assert.equal(await s.findPin(deadPin.userCode), null);
        assert.notEqual(await s.findPin(livePin.userCode), null);
        assert.deepEqual(await s.findSession(live.idHash, base + 10), live);
        assert.deepEqual(await s.consumeAuthCode(deadCode.codeHash, base + 10), { kind: 'unknown' });
        assert.deepEqual(await s.consumeAuthCode(liveCode.codeHash, base + 10), { kind: 'fresh', code: liveCode });
      });
    });
  });
}
