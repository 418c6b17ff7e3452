import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loadMigrations } from '../../src/storage/migrations.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import { grantReq, T0 } from './fixtures.js';

/**
 * Decision 0100: from schema version 5 a refreshed V1 token's expiry is kept on its grant.
 * A database made at version 4 holds tokens whose expiry is only on their own rows: after
 * the upgrade they must keep working, to the same instant, and a refresh must move them on.
 */
describe('SQLite: upgrading a version 4 database to keep V1 token expiries on grants', () => {
  let dir: string;
  let file: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyfob-upgrade-'));
    file = join(dir, 'k.sqlite');
    // The schema as version 4 left it, recorded as applied.
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of loadMigrations('sqlite').filter((m) => m.version <= 4)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, T0);
    }
    db.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps a version 4 token valid to its own expiry, then lets a refresh move it', async () => {
    let storage = new SqliteStorage(file);
    // A token as version 4 wrote it: its expiry on its own row only.
    const owner = (await storage.createUser({ username: 'old', passwordHash: 'x', createdAt: T0 })).id;
    const appId = (await storage.createApp({ clientId: 'old-app', ownerId: owner, name: 'o', redirectUris: [], secretHash: null, createdAt: T0 })).id;
    const first = grantReq(owner, appId, { tokenExpiresAt: T0 + 1_000 });
    const grant = await storage.upsertV1Grant(first);
    await storage.close();

    storage = new SqliteStorage(file);
    try {
      assert.deepEqual(await storage.migrate(), [5]);
      assert.equal((await storage.findAccessToken(first.tokenHash, T0 + 999))?.expiresAt, T0 + 1_000);
      assert.equal(await storage.findAccessToken(first.tokenHash, T0 + 1_000), null, 'expired at the same instant as before the upgrade');
      // Authorized again before it expired: the same grant, its token good to the new expiry.
      const again = await storage.upsertV1Grant(grantReq(owner, appId, { now: T0 + 500, tokenExpiresAt: T0 + 9_000 }));
      assert.equal(again.id, grant.id);
      assert.equal((await storage.findAccessToken(first.tokenHash, T0 + 8_999))?.expiresAt, T0 + 9_000);
      assert.equal(await storage.findAccessToken(first.tokenHash, T0 + 9_000), null);
    } finally {
      await storage.close();
    }
  });
});
