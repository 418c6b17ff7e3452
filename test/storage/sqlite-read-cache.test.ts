import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { issueV1Token } from '../../src/oauth/grants/v1-token.js';
import { hashToken } from '../../src/oauth/tokens.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { ManualClock } from '../../src/util/clock.js';
import { requestArrived } from '../../src/util/poll-phase.js';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';
import { getSettings } from '../helpers/flows.js';
import { seedFixture, startKeyfob, TEST_SECRET, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';

/**
 * Token and user lookups on SQLite are cached while the database provably has not
 * changed (docs/decisions/0050). Two connections to one file stand for two instances.
 */
describe('SQLite read cache: a change on any instance is seen by the very next lookup', () => {
  let dir: string;
  let file: string;
  let a: SqliteStorage;
  let b: SqliteStorage;
  const clock = new ManualClock(1_800_000_000_000);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyfob-cache-'));
    file = join(dir, 'keyfob.sqlite');
    a = new SqliteStorage(file);
    await a.migrate();
    b = new SqliteStorage(file);
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function grantWithToken(storage: SqliteStorage, name: string) {
    const user = await storage.createUser({ username: name, passwordHash: 'x', createdAt: clock.now() });
    const app = await storage.createApp({ clientId: `client-${name}`, ownerId: user.id, name, redirectUris: [], secretHash: null, createdAt: clock.now() });
    const { token, grant } = await issueV1Token(
      { storage, clock, secret: TEST_SECRET },
      { userId: user.id, appId: app.id, flow: 'code', meta: { appName: null, appVersion: null, userAgent: null } },
    );
    return { user, app, grant, tokenHash: hashToken(token) };
  }

  it('a revoke committed through another connection answers null at once', async () => {
    const g = await grantWithToken(a, 'revoked_elsewhere');
    assert.equal((await a.findAccessToken(g.tokenHash, clock.now()))?.grantId, g.grant.id);
    assert.equal((await a.findAccessToken(g.tokenHash, clock.now()))?.grantId, g.grant.id);
    assert.equal(await b.revokeGrant(g.grant.id, g.user.id, clock.now()), true);
    assert.equal(await a.findAccessToken(g.tokenHash, clock.now()), null);
  });

  it('inside a poll phase, another instance is probed once; this instance\'s own revoke is seen at once (decision 0084)', async () => {
    const elsewhere = await grantWithToken(a, 'phase_elsewhere');
    const here = await grantWithToken(a, 'phase_here');
    await nextCheckPhase();
    // Probed outside any phase: not reused inside the next one.
    assert.ok(a.findAccessTokenWithUser(elsewhere.tokenHash, clock.now()));
    assert.equal(await b.revokeGrant(elsewhere.grant.id, elsewhere.user.id, clock.now()), true);
    requestArrived();
    assert.equal(a.findAccessTokenWithUser(elsewhere.tokenHash, clock.now()), null, 'a commit made before the phase began is seen');
    await nextCheckPhase();

    requestArrived();
    assert.ok(a.findAccessTokenWithUser(here.tokenHash, clock.now()));
    assert.equal(await a.revokeGrant(here.grant.id, here.user.id, clock.now()), true);
    assert.equal(a.findAccessTokenWithUser(here.tokenHash, clock.now()), null, 'this connection\'s own write is seen within the phase');
    await nextCheckPhase();
  });

  it('a probe is reused within its poll phase only (decision 0084)', async () => {
    const g = await grantWithToken(a, 'phase_reuse');
    await nextCheckPhase();
    requestArrived();
    assert.ok(a.findAccessTokenWithUser(g.tokenHash, clock.now()));
    // Committed after this phase began: requests of this phase were sent before it.
    assert.equal(await b.revokeGrant(g.grant.id, g.user.id, clock.now()), true);
    assert.ok(a.findAccessTokenWithUser(g.tokenHash, clock.now()), 'the phase\'s probe is reused');
    await nextCheckPhase();
    assert.equal(a.findAccessTokenWithUser(g.tokenHash, clock.now()), null, 'outside a phase every read probes');
    requestArrived();
    assert.equal(a.findAccessTokenWithUser(g.tokenHash, clock.now()), null, 'and so does the next phase');
    await nextCheckPhase();
  });

  it('a write on this connection that the storage was not told of is seen by the next poll phase (decision 0096)', async () => {
    const g = await grantWithToken(a, 'raw_handle');
    await nextCheckPhase();
    requestArrived();
    const token = a.findAccessTokenWithUser(g.tokenHash, clock.now());
    assert.ok(token);
    a.handle.prepare('UPDATE users SET display_name = ? WHERE id = ?').run('Renamed', g.user.id);
    assert.equal(a.findAccessTokenWithUser(g.tokenHash, clock.now()), token, 'inside the phase: only statements the storage takes are marked');
    await nextCheckPhase();
    requestArrived();
    assert.equal(a.findAccessTokenWithUser(g.tokenHash, clock.now())?.user.displayName, 'Renamed', 'total_changes, asked with data_version, moved');
    await nextCheckPhase();
  });

  function pendingPin(appId: number, userCode: string, createdAt: number, expiresAt: number) {
    return {
      userCode, appId, redirect: null, appName: null, appVersion: null, userAgent: null, createdIp: null,
      createdAt, expiresAt, grantId: null, failedAttempts: 0, lastPolledAt: null,
    };
  }

  it('a PIN\'s cached poll state follows its first poll, a new PIN taking its code, an approval and a deletion, here or elsewhere (decisions 0085, 0095)', async () => {
    const g = await grantWithToken(a, 'pin_owner');
    const other = await a.createApp({ clientId: 'client-pin-other', ownerId: g.user.id, name: 'other', redirectUris: [], secretHash: null, createdAt: clock.now() });
    const t = clock.now();
    assert.equal(await a.createPin(pendingPin(g.app.id, 'PCACH', t, t + 10)), true);
    assert.deepEqual(a.findPinPollState('PCACH', t), { userCode: 'PCACH', appId: g.app.id, expiresAt: t + 10, grantId: null, lastPolledAt: null, answeredAt: -Infinity });
    assert.equal(await a.touchPinPoll('PCACH', t + 1), null);
    assert.equal(a.findPinPollState('PCACH', t + 1)?.lastPolledAt, t + 1, 'the first poll\'s write is seen');
    // Usage counts and sessions are written without dropping anything cached, and change nothing a poll reads.
    await a.recordGrantUsage(new Map([[g.grant.id, { count: 3, lastUsedAt: t + 2 }]]));
    await a.createSession({ idHash: hashToken('pin-session'), userId: g.user.id, createdAt: t, expiresAt: t + 60_000 });
    assert.equal(a.findPinPollState('PCACH', t + 2)?.lastPolledAt, t + 1);
    // The code expired; a new PIN of another app takes it: the new one is read, not the cached one.
    assert.equal(await a.createPin(pendingPin(other.id, 'PCACH', t + 20, t + 900_000)), true);
    assert.deepEqual(a.findPinPollState('PCACH', t + 20), { userCode: 'PCACH', appId: other.id, expiresAt: t + 900_000, grantId: null, lastPolledAt: null, answeredAt: -Infinity });
    // Approved through another instance, then seen here, with this instance's answer time kept.
    a.notePinAnswered('PCACH', t + 20);
    assert.equal(await b.approvePin('PCACH', g.grant.id, t + 21), true);
    assert.deepEqual(a.findPinPollState('PCACH', t + 21), { userCode: 'PCACH', appId: other.id, expiresAt: t + 900_000, grantId: g.grant.id, lastPolledAt: null, answeredAt: t + 20 });
    await a.deletePin('PCACH');
    assert.equal(a.findPinPollState('PCACH', t + 22), null);
  });

  it('PIN writes on this instance change their own PIN\'s state and keep everything else cached (decision 0095)', async () => {
    const g = await grantWithToken(a, 'pin_writes');
    const t = clock.now();
    const token = a.findAccessTokenWithUser(g.tokenHash, t);
    assert.ok(token);
    for (const code of ['PW2AB', 'PW3AB', 'PW4AB']) assert.equal(await a.createPin(pendingPin(g.app.id, code, t, t + 900_000)), true);
    const before = a.findPinPollState('PW3AB', t);
    assert.equal(await a.approvePin('PW2AB', g.grant.id, t + 1), true);
    assert.equal(a.findPinPollState('PW2AB', t + 1)?.grantId, g.grant.id, 'an approval here is seen at once');
    assert.equal(await a.addPinFailure('PW4AB'), 1);
    assert.equal((await a.consumeApprovedPin('PW2AB', g.app.id))?.userCode, 'PW2AB');
    assert.equal(a.findPinPollState('PW2AB', t + 2), null);
    await a.deletePin('PW4AB');
    assert.equal(a.findPinPollState('PW4AB', t + 2), null);
    await a.recordGrantUsage(new Map([[g.grant.id, { count: 1, lastUsedAt: t + 2 }]]));
    await a.createSession({ idHash: hashToken('pin-writes-session'), userId: g.user.id, createdAt: t, expiresAt: t + 60_000 });
    await a.deleteSession(hashToken('pin-writes-session'));
    assert.equal(a.findAccessTokenWithUser(g.tokenHash, t + 2), token, 'the token lookup is still the cached one');
    assert.equal(before?.expiresAt, t + 900_000);
    // A write on this connection that no storage method named is still seen: total_changes moved.
    a.handle.prepare('UPDATE pins SET expires_at = ? WHERE user_code = ?').run(t + 5, 'PW3AB');
    assert.equal(a.findPinPollState('PW3AB', t + 2)?.expiresAt, t + 5);
  });

  it('hands out frozen records: no caller can change what the next caller reads', async () => {
    const g = await grantWithToken(a, 'frozen');
    const found = a.findAccessTokenWithUser(g.tokenHash, clock.now())!;
    assert.ok(Object.isFrozen(found) && Object.isFrozen(found.user) && Object.isFrozen(found.lookup));
    assert.throws(() => {
      (found.user as { displayName: string }).displayName = 'changed';
    }, TypeError);
    const lookup = (await a.findAccessToken(g.tokenHash, clock.now()))!;
    assert.throws(() => {
      (lookup as { clientId: string }).clientId = 'someone-else';
    }, TypeError);
    const app = (await a.findAppByClientId(g.app.clientId))!;
    assert.throws(() => (app.redirectUris as string[]).push('https://evil.example/cb'), TypeError);
    assert.equal((await a.findUserById(g.user.id))?.displayName, 'frozen');
    assert.deepEqual((await a.findAppByClientId(g.app.clientId))?.redirectUris, []);
  });

  it('a revoke through the same connection answers null at once', async () => {
    const g = await grantWithToken(a, 'revoked_here');
    assert.ok(await a.findAccessToken(g.tokenHash, clock.now()));
    assert.equal(await a.revokeGrant(g.grant.id, g.user.id, clock.now()), true);
    assert.equal(await a.findAccessToken(g.tokenHash, clock.now()), null);
  });

  it('deleting the app through another connection answers null at once', async () => {
    const g = await grantWithToken(a, 'app_deleted');
    assert.ok(await a.findAccessToken(g.tokenHash, clock.now()));
    await b.deleteApp(g.app.id);
    assert.equal(await a.findAccessToken(g.tokenHash, clock.now()), null);
  });

  it('a cached token stops working when it expires, with no write in between', async () => {
    const g = await grantWithToken(a, 'expiring');
    const lookup = await a.findAccessToken(g.tokenHash, clock.now());
    assert.ok(lookup);
    assert.ok(await a.findAccessToken(g.tokenHash, lookup.expiresAt - 1));
    assert.equal(await a.findAccessToken(g.tokenHash, lookup.expiresAt), null);
  });

  it('a user changed through another connection is read fresh', async () => {
    const g = await grantWithToken(a, 'renamed');
    assert.equal((await a.findUserById(g.user.id))?.displayName, 'renamed');
    b.handle.prepare('UPDATE users SET display_name = ? WHERE id = ?').run('New Name', g.user.id);
    assert.equal((await a.findUserById(g.user.id))?.displayName, 'New Name');
  });

  it('an app changed through another connection is read fresh', async () => {
    const g = await grantWithToken(a, 'app_changed');
    assert.deepEqual((await a.findAppByClientId('client-app_changed'))?.redirectUris, []);
    await b.updateAppRedirectUris(g.app.id, ['https://example.com/cb'], clock.now());
    assert.deepEqual((await a.findAppByClientId('client-app_changed'))?.redirectUris, ['https://example.com/cb']);
    await b.updateAppSecretHash(g.app.id, 'f'.repeat(64), clock.now());
    assert.equal((await a.findAppByClientId('client-app_changed'))?.secretHash, 'f'.repeat(64));
    await b.deleteApp(g.app.id);
    assert.equal(await a.findAppByClientId('client-app_changed'), null);
  });

  it('the combined token-and-user lookup sees a revoke, a user change and an expiry through another connection at once', async () => {
    const g = await grantWithToken(a, 'combined');
    const first = await a.findAccessTokenWithUser(g.tokenHash, clock.now());
    assert.equal(first?.lookup.grantId, g.grant.id);
    assert.equal(first?.user.id, g.user.id);
    assert.equal((await a.findAccessTokenWithUser(g.tokenHash, clock.now()))?.user.displayName, 'combined');
    b.handle.prepare('UPDATE users SET display_name = ? WHERE id = ?').run('Renamed', g.user.id);
    assert.equal((await a.findAccessTokenWithUser(g.tokenHash, clock.now()))?.user.displayName, 'Renamed');
    assert.equal(await a.findAccessTokenWithUser(g.tokenHash, first!.lookup.expiresAt), null);
    assert.ok(await a.findAccessTokenWithUser(g.tokenHash, clock.now()));
    assert.equal(await b.revokeGrant(g.grant.id, g.user.id, clock.now()), true);
    assert.equal(await a.findAccessTokenWithUser(g.tokenHash, clock.now()), null);
  });

  async function consumeACode(storage: SqliteStorage, g: { user: { id: number }; app: { id: number } }, name: string) {
    const codeHash = hashToken(`code-${name}-${Math.random()}`);
    await storage.saveAuthCode({
      codeHash, appId: g.app.id, userId: g.user.id, redirectUri: null, codeChallenge: null, codeChallengeMethod: null,
      createdAt: clock.now(), expiresAt: clock.now() + 60_000, appName: null, appVersion: null, userAgent: null,
    });
    assert.equal((await storage.consumeAuthCode(codeHash, clock.now())).kind, 'fresh');
  }

  it('a grouped write on this connection still drops cached tokens, and a change elsewhere is still seen (decision 0083)', async () => {
    const g = await grantWithToken(a, 'grouped');
    const before = await a.findAccessToken(g.tokenHash, clock.now());
    assert.ok(before);
    assert.ok(await a.findAppByClientId('client-grouped'));
    // The same-token rule re-issues the live grant and pushes its token's expiry: a grouped write.
    clock.advance(5000);
    await issueV1Token({ storage: a, clock, secret: TEST_SECRET }, { userId: g.user.id, appId: g.app.id, flow: 'code', meta: { appName: null, appVersion: null, userAgent: null } });
    assert.equal((await a.findAccessToken(g.tokenHash, clock.now()))?.expiresAt, before.expiresAt + 5000);
    // Another connection changes the app; this one then makes a grouped write: the app is read fresh.
    await b.updateAppRedirectUris(g.app.id, ['https://example.com/grouped'], clock.now());
    await consumeACode(a, g, 'grouped');
    assert.deepEqual((await a.findAppByClientId('client-grouped'))?.redirectUris, ['https://example.com/grouped']);
    // This connection changes the app outside a group, then makes a grouped write: still read fresh.
    assert.ok(await a.findAppByClientId('client-grouped'));
    await a.updateAppRedirectUris(g.app.id, ['https://example.com/here'], clock.now());
    await consumeACode(a, g, 'grouped2');
    assert.deepEqual((await a.findAppByClientId('client-grouped'))?.redirectUris, ['https://example.com/here']);
    // A revoke elsewhere after a grouped write here: the very next lookup answers null.
    await consumeACode(a, g, 'grouped3');
    assert.ok(await a.findAccessTokenWithUser(g.tokenHash, clock.now()));
    assert.equal(await b.revokeGrant(g.grant.id, g.user.id, clock.now()), true);
    await consumeACode(a, g, 'grouped4');
    assert.equal(await a.findAccessTokenWithUser(g.tokenHash, clock.now()), null);
    assert.equal(await a.findAccessToken(g.tokenHash, clock.now()), null);
  });

});

describe('two keyfob instances on one SQLite file', () => {
  let one: TestKeyfob;
  let two: TestKeyfob;
  let f: Fixture;

  before(async () => {
    one = await startKeyfob();
    two = await startKeyfob({ database: one.config.database });
    f = await seedFixture(one);
  });
  after(async () => {
    await two.close();
    await one.close();
  });

  it('a revoke on one instance answers 401 on the very next call to the other', async () => {
    const { token, grant } = await issueV1Token(
      { storage: one.storage, clock: one.clock, secret: TEST_SECRET },
      { userId: f.userId, appId: f.confidential.appId, flow: 'code', meta: { appName: null, appVersion: null, userAgent: null } },
    );
    // Warm both instances' caches.
    for (let i = 0; i < 3; i++) {
      assert.equal((await getSettings(one, token, f.confidential.clientId)).status, 200);
      assert.equal((await getSettings(two, token, f.confidential.clientId)).status, 200);
    }
    assert.equal(await one.storage.revokeGrant(grant.id, f.userId, one.clock.now()), true);
    const res = await getSettings(two, token, f.confidential.clientId);
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: 'user_token_failed', code: 401 });
    assert.equal((await getSettings(one, token, f.confidential.clientId)).status, 401);
  });
});
