import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { FailAfterCommit, GroupCommit } from '../../src/storage/sqlite/group-commit.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { CodeConsumption } from '../../src/storage/storage.js';
import { sha256Hex } from '../../src/util/crypto.js';

/** Writes submitted in one event-loop turn share a commit; each stays whole and single-use stays single. */
describe('SQLite group commit', () => {
  let dir: string;
  let storage: SqliteStorage;
  let peer: SqliteStorage;
  let userId: number;
  let appId: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyfob-group-'));
    storage = new SqliteStorage(join(dir, 'k.sqlite'));
    await storage.migrate();
    peer = new SqliteStorage(join(dir, 'k.sqlite'));
    userId = (await storage.createUser({ username: 'grouped', passwordHash: 'x', createdAt: 1 })).id;
    appId = (await storage.createApp({ clientId: 'grouped-app', ownerId: userId, name: 'g', redirectUris: [], secretHash: null, createdAt: 1 })).id;
  });
  after(async () => {
    await storage.close();
    await peer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const code = (hash: string) => ({
    codeHash: hash,
    appId,
    userId,
    redirectUri: null,
    codeChallenge: null,
    codeChallengeMethod: null,
    appName: null,
    appVersion: null,
    userAgent: null,
    createdAt: 1,
    expiresAt: 2_000_000_000_000,
  });

  it('fifty simultaneous consumes of one code: exactly one gets it', async () => {
    await storage.saveAuthCode(code(sha256Hex('one-code')));
    const got = await Promise.all(Array.from({ length: 50 }, () => storage.consumeAuthCode(sha256Hex('one-code'), 10)));
    assert.equal(got.filter((c) => c.kind === 'fresh').length, 1);
    assert.equal(got.filter((c) => c.kind === 'replayed').length, 49);
  });

  it('simultaneous consumes of different codes each get their own, and they are gone for other connections', async () => {
    const hashes = Array.from({ length: 40 }, (_, i) => sha256Hex(`code-${i}`));
    for (const h of hashes) await storage.saveAuthCode(code(h));
    const got = await Promise.all(hashes.map((h) => storage.consumeAuthCode(h, 10)));
    assert.deepEqual(got.map((c) => (c.kind === 'fresh' ? c.code.codeHash : c.kind)), hashes);
    for (const h of hashes) assert.equal((await peer.consumeAuthCode(h, 11)).kind, 'replayed');
  });

  it('simultaneous upserts for one user and app give one grant (same-token rule, §5.4)', async () => {
    const grants = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        storage.upsertV1Grant({
          userId,
          appId,
          flow: 'code',
          mintToken: () => ({ tokenSeed: `seed-${i}`, tokenHash: sha256Hex(`token-${i}`) }),
          now: 1000 + i,
          tokenExpiresAt: 9_000_000_000_000,
          appName: null,
          appVersion: null,
          userAgent: null,
        }),
      ),
    );
    assert.equal(new Set(grants.map((g) => g.id)).size, 1);
    assert.equal(new Set(grants.map((g) => g.tokenSeed)).size, 1);
  });

  it('refreshing a live grant mints no token: only a created grant needs one', async () => {
    let mints = 0;
    const request = (seed: string) => ({
      userId,
      appId,
      flow: 'code' as const,
      mintToken: () => (mints++, { tokenSeed: seed, tokenHash: sha256Hex(seed) }),
      now: 5000,
      tokenExpiresAt: 9_000_000_000_000,
      appName: null,
      appVersion: null,
      userAgent: null,
    });
    const owner = (await storage.createUser({ username: 'minting', passwordHash: 'x', createdAt: 1 })).id;
    const first = await storage.upsertV1Grant({ ...request('first-seed'), userId: owner });
    assert.equal(mints, 1);
    const again = await storage.upsertV1Grant({ ...request('second-seed'), userId: owner });
    assert.equal(mints, 1);
    assert.deepEqual([again.id, again.tokenSeed], [first.id, 'first-seed']);
  });

  /** A grant request for `user` whose token, if minted, is `seed`; counts the mints in `mints.n`. */
  const grantFor = (user: number, seed: string, mints = { n: 0 }) => ({
    userId: user,
    appId,
    flow: 'code' as const,
    mintToken: () => (mints.n++, { tokenSeed: seed, tokenHash: sha256Hex(`token-of-${seed}`) }),
    now: 7000,
    tokenExpiresAt: 9_000_000_000_000,
    appName: null,
    appVersion: null,
    userAgent: null,
  });

  it('a redemption is one operation: a replay in the same turn already sees the grant the first one issued', async () => {
    const owner = (await storage.createUser({ username: 'one-turn', passwordHash: 'x', createdAt: 1 })).id;
    await storage.saveAuthCode({ ...code(sha256Hex('one-turn-code')), userId: owner });
    const decide = (c: CodeConsumption) => (c.kind === 'fresh' ? grantFor(owner, 'one-turn-seed') : null);
    const [first, second] = await Promise.all([
      storage.redeemAuthCode(sha256Hex('one-turn-code'), 20, decide),
      storage.redeemAuthCode(sha256Hex('one-turn-code'), 21, decide),
    ]);
    assert.ok(first.issued?.created);
    assert.equal(second.consumption.kind, 'replayed');
    assert.ok(second.consumption.kind === 'replayed');
    assert.deepEqual([second.consumption.consumedAt, second.consumption.grantId, second.consumption.grantCreated], [20, first.issued.grantId, true]);
  });

  it('redeeming a code for a live grant mints no token', async () => {
    const owner = (await storage.createUser({ username: 'live-redeem', passwordHash: 'x', createdAt: 1 })).id;
    const live = await storage.upsertV1Grant(grantFor(owner, 'live-seed'));
    await storage.saveAuthCode({ ...code(sha256Hex('live-redeem-code')), userId: owner });
    const mints = { n: 0 };
    const { issued } = await storage.redeemAuthCode(sha256Hex('live-redeem-code'), 30, () => grantFor(owner, 'unused-seed', mints));
    assert.deepEqual(issued, { grantId: live.id, tokenSeed: 'live-seed', created: false });
    assert.equal(mints.n, 0);
  });

  it('the live grant read with the code (decision 0093): codes of one user and app in one batch share one grant; another app\'s or a revoked grant is not taken', async () => {
    const owner = (await storage.createUser({ username: 'join-redeem', passwordHash: 'x', createdAt: 1 })).id;
    const otherApp = (await storage.createApp({ clientId: 'join-other-app', ownerId: owner, name: 'o', redirectUris: [], secretHash: null, createdAt: 1 })).id;
    // The same user already holds a grant for another app: it must not be the one refreshed.
    const foreign = await storage.upsertV1Grant({ ...grantFor(owner, 'foreign-seed'), appId: otherApp });
    const hashes = ['join-a', 'join-b', 'join-c'].map((c) => sha256Hex(c));
    for (const h of hashes) await storage.saveAuthCode({ ...code(h), userId: owner });
    const mints = { n: 0 };
    // The i-th redemption at time 7000 + i, its token to expire at 9e12 + i.
    const decide = (seed: string, i = 0) => (c: CodeConsumption) =>
      c.kind === 'fresh' ? { ...grantFor(owner, seed, mints), now: 7000 + i, tokenExpiresAt: 9_000_000_000_000 + i } : null;
    // One turn, one batch: the first creates the grant, the next two find it with their codes
    // and refresh it (the last one's time and token expiry win).
    const batch = await Promise.all(hashes.map((h, i) => storage.redeemAuthCode(h, 50 + i, decide(`join-seed-${i}`, i))));
    assert.deepEqual(
      batch.map((r) => [r.issued?.tokenSeed, r.issued?.created]),
      [
        ['join-seed-0', true],
        ['join-seed-0', false],
        ['join-seed-0', false],
      ],
    );
    assert.equal(new Set(batch.map((r) => r.issued?.grantId)).size, 1);
    assert.notEqual(batch[0]!.issued?.grantId, foreign.id);
    assert.equal(mints.n, 1);
    // The refresh reached the grant and its token: authorized at the last redemption's time.
    const grantId = batch[0]!.issued!.grantId;
    assert.equal((await storage.findGrantById(grantId))?.authorizedAt, 7002);
    assert.equal((await storage.findAccessToken(sha256Hex('token-of-join-seed-0'), 9_000_000_000_001))?.expiresAt, 9_000_000_000_002);
    // Revoked after the next code was issued: that code's redemption creates a new grant.
    await storage.saveAuthCode({ ...code(sha256Hex('join-after-revoke')), userId: owner });
    assert.equal(await storage.revokeGrant(grantId, owner, 60), true);
    const after = await storage.redeemAuthCode(sha256Hex('join-after-revoke'), 61, decide('join-new-seed'));
    assert.deepEqual([after.issued?.tokenSeed, after.issued?.created], ['join-new-seed', true]);
    assert.notEqual(after.issued?.grantId, grantId);
    assert.equal((await storage.findGrantById(foreign.id))?.tokenSeed, 'foreign-seed');
  });

  it('a redemption whose upsert fails, in a batch: its code is consumed, nothing of its grant remains, the others are untouched', async () => {
    const owner = (await storage.createUser({ username: 'batch-redeem', passwordHash: 'x', createdAt: 1 })).id;
    const failing = (await storage.createUser({ username: 'failing-redeem', passwordHash: 'x', createdAt: 1 })).id;
    const holder = (await storage.createUser({ username: 'token-holder', passwordHash: 'x', createdAt: 1 })).id;
    const taken = await storage.upsertV1Grant(grantFor(holder, 'taken-seed'));
    assert.equal(taken.tokenSeed, 'taken-seed');
    const hashes = ['batch-a', 'batch-b', 'batch-c'].map((c) => sha256Hex(c));
    for (const [i, h] of hashes.entries()) await storage.saveAuthCode({ ...code(h), userId: i === 1 ? failing : owner });
    const [ok, failed, consumed] = await Promise.allSettled([
      storage.redeemAuthCode(hashes[0]!, 40, (c) => (c.kind === 'fresh' ? grantFor(owner, 'batch-seed') : null)),
      // A token that clashes with the stored one fails the upsert after its grant row went in.
      storage.redeemAuthCode(hashes[1]!, 41, (c) =>
        c.kind === 'fresh' ? { ...grantFor(failing, 'clash-seed'), mintToken: () => ({ tokenSeed: 'clash-seed', tokenHash: sha256Hex('token-of-taken-seed') }) } : null,
      ),
      storage.consumeAuthCode(hashes[2]!, 42),
    ]);
    assert.equal(ok.status, 'fulfilled');
    assert.equal(failed.status, 'rejected');
    assert.equal(consumed.status, 'fulfilled');
    assert.ok(ok.status === 'fulfilled' && ok.value.issued?.created);
    assert.equal(storage.handle.prepare('SELECT COUNT(*) FROM grants WHERE user_id = ?').pluck().get(failing), 0);
    assert.equal((await storage.findAccessToken(sha256Hex('token-of-taken-seed'), 1))?.grantId, taken.id);
    const tombstone = await peer.consumeAuthCode(hashes[1]!, 43);
    assert.deepEqual(tombstone.kind === 'replayed' && [tombstone.consumedAt, tombstone.grantId], [41, null]);
    assert.equal((await peer.consumeAuthCode(hashes[2]!, 43)).kind, 'replayed');
  });

  it('recover replaces a failed operation, in a savepoint of its own; FailAfterCommit keeps the writes and rejects', async () => {
    const db = new Database(join(dir, 'k.sqlite'));
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS r (k TEXT PRIMARY KEY)');
    const group = new GroupCommit(db);
    const insert = (k: string) => db.prepare('INSERT INTO r (k) VALUES (?)').run(k).changes;
    const results = await Promise.allSettled([
      group.submit(
        () => {
          insert('undone');
          throw new Error('fails after a write');
        },
        () => insert('recovered'),
      ),
      group.submit(
        (): number => {
          throw new Error('first failure');
        },
        () => {
          insert('undone too');
          throw new Error('recovery fails as well');
        },
      ),
      group.submit(() => insert('next')),
      // Kept writes, and an error for the caller once they are committed.
      group.submit(() => (insert('kept'), new FailAfterCommit(new Error('answered after the commit')))),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
      [1, 'recovery fails as well', 1, 'answered after the commit'],
    );
    assert.deepEqual(db.prepare('SELECT k FROM r ORDER BY k').pluck().all(), ['kept', 'next', 'recovered']);
    db.close();
  });

  it('a failing operation rolls back alone and rejects alone', async () => {
    const db = new Database(join(dir, 'k.sqlite'));
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)');
    const group = new GroupCommit(db);
    const insert = (k: string) => () => db.prepare('INSERT INTO t (k) VALUES (?)').run(k).changes;
    const results = await Promise.allSettled([
      group.submit(insert('a')),
      group.submit(() => {
        db.prepare('INSERT INTO t (k) VALUES (?)').run('half-done');
        throw new Error('fails after a write');
      }),
      group.submit(insert('a')),
      group.submit(insert('b')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'rejected', 'fulfilled'],
    );
    const keys = (db.prepare('SELECT k FROM t ORDER BY k').pluck().all() as string[]);
    assert.deepEqual(keys, ['a', 'b']);
    db.close();
  });

  it('runs a batch once without savepoints, and again with them only when an operation throws', async () => {
    const db = new Database(join(dir, 'k.sqlite'));
    db.pragma('busy_timeout = 5000');
    db.exec('CREATE TABLE IF NOT EXISTS once (k TEXT PRIMARY KEY)');
    const group = new GroupCommit(db);
    const runs = new Map<string, number>();
    const insert = (k: string) => () => {
      runs.set(k, (runs.get(k) ?? 0) + 1);
      return db.prepare('INSERT INTO once (k) VALUES (?)').run(k).changes;
    };
    // No operation throws: each runs once.
    assert.deepEqual(await Promise.all([group.submit(insert('p')), group.submit(insert('q'))]), [1, 1]);
    assert.deepEqual([runs.get('p'), runs.get('q')], [1, 1]);
    // One throws: the batch was rolled back and ran again, each operation in its savepoint;
    // the others ran twice and their rows are there once.
    const results = await Promise.allSettled([
      group.submit(insert('r')),
      group.submit((): number => {
        runs.set('boom', (runs.get('boom') ?? 0) + 1);
        throw new Error('boom');
      }),
      group.submit(insert('s')),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual([runs.get('r'), runs.get('boom'), runs.get('s')], [2, 2, 1]);
    assert.deepEqual(db.prepare('SELECT k FROM once ORDER BY k').pluck().all(), ['p', 'q', 'r', 's']);
    db.close();
  });
});
