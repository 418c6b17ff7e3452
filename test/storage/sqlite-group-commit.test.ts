import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { GroupCommit } from '../../src/storage/sqlite/group-commit.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
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
});
