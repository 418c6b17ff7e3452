import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { redeemAuthCode } from '../../src/storage/redeem.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { AuthCode, V1GrantRequest } from '../../src/storage/storage.js';
import { sha256Hex } from '../../src/util/crypto.js';

const T0 = 1_700_000_000_000;

/**
 * Decision 0097: a code's row is written with room for its consumption, so consuming it
 * (consumed_at, grant_id, grant_created) never makes the row longer. A longer row would
 * no longer fit its full table page, and SQLite would split pages on the exchange's hot path.
 */
describe('SQLite: consuming codes does not grow their rows', () => {
  let dir: string;
  let file: string;
  let storage: SqliteStorage;
  let raw: Database.Database;
  let userId: number;
  let appId: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyfob-room-'));
    file = join(dir, 'k.sqlite');
    storage = new SqliteStorage(file);
    await storage.migrate();
    raw = new Database(file, { readonly: true });
    userId = (await storage.createUser({ username: 'roomy', passwordHash: 'x', createdAt: T0 })).id;
    appId = (await storage.createApp({ clientId: 'room-app', ownerId: userId, name: 'r', redirectUris: [], secretHash: null, createdAt: T0 })).id;
  });
  after(async () => {
    raw.close();
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const code = (): AuthCode => ({
    codeHash: sha256Hex(randomBytes(32).toString('base64url')),
    appId,
    userId,
    redirectUri: 'http://localhost:8080/callback',
    codeChallenge: null,
    codeChallengeMethod: null,
    appName: 'kodi',
    appVersion: '1.0',
    userAgent: 'UA/1',
    createdAt: T0,
    expiresAt: T0 + 600_000,
  });

  const grantRequest = (now: number): V1GrantRequest => ({
    userId,
    appId,
    flow: 'code',
    mintToken: () => ({ tokenSeed: randomBytes(32).toString('hex'), tokenHash: randomBytes(32).toString('hex') }),
    now,
    tokenExpiresAt: now + 1_000_000,
    appName: null,
    appVersion: null,
    userAgent: null,
  });

  /** The auth_codes table's pages (its rows only, not its indexes), and how many bytes of them are used. */
  const tablePages = () =>
    raw.prepare("SELECT count(*) AS pages, sum(pgsize - unused) AS used FROM dbstat WHERE name = 'auth_codes'").get() as { pages: number; used: number };

  it('a fresh code carries 16 spare bytes; each way of consuming it gives them up', async () => {
    const [issued, refused, taken] = [code(), code(), code()];
    for (const c of [issued, refused, taken]) await storage.saveAuthCode(c);
    const room = (c: AuthCode) => raw.prepare('SELECT iif(room IS NULL, NULL, hex(room)) FROM auth_codes WHERE code_hash = ?').pluck().get(c.codeHash);
    assert.equal(room(issued), '00'.repeat(16));

    const now = T0 + 1_000;
    assert.ok((await redeemAuthCode(storage, issued.codeHash, now, () => grantRequest(now))).issued);
    assert.equal((await redeemAuthCode(storage, refused.codeHash, now, () => null)).issued, null);
    assert.equal((await storage.consumeAuthCode(taken.codeHash, now)).kind, 'fresh');
    for (const c of [issued, refused, taken]) assert.equal(room(c), null);
  });

  it('redeeming a thousand codes written back to back splits no table page', async () => {
    const codes = Array.from({ length: 1000 }, code);
    for (const c of codes) await storage.saveAuthCode(c);
    const before = tablePages();
    assert.ok(before.pages >= 20, `the codes fill ${before.pages} pages`);

    // A refresh of the live grant: the grant id stays, the consumption adds a 6-byte time and the id.
    let now = T0 + 2_000;
    for (const c of codes) {
      now += 1;
      const { issued } = await redeemAuthCode(storage, c.codeHash, now, () => grantRequest(now));
      assert.ok(issued);
    }
    const afterwards = tablePages();
    assert.equal(afterwards.pages, before.pages);
    assert.ok(afterwards.used <= before.used, `${afterwards.used} bytes used after, ${before.used} before`);
    assert.equal(raw.prepare('SELECT count(*) FROM auth_codes WHERE consumed_at IS NULL').pluck().get(), 0);
  });
});
