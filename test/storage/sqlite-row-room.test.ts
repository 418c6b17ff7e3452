import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { redeemAuthCode } from '../../src/storage/redeem.js';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { AuthCode, Pin } from '../../src/storage/storage.js';
import { code as newCode, grantReq, pin as newPin, T0, wellFormedCode } from './fixtures.js';

/**
 * Decision 0097: codes and PINs are written with room for their later writes, so consuming
 * a code (consumed_at, grant_id, grant_created) or polling, approving or mistyping a PIN
 * never makes its row longer. A longer row would no longer fit its full table page, and
 * SQLite would split pages on the exchange's and the first poll's paths.
 */
describe('SQLite: later writes do not grow code and PIN rows', () => {
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

  const code = () => newCode(appId, userId);
  const pin = () => newPin(appId, { userCode: wellFormedCode() });
  /** A refresh of the live V1 grant, or its creation, at `now`. */
  const grantRequest = (now: number) => grantReq(userId, appId, { now, tokenExpiresAt: now + 1_000_000 });

  /** A table's pages (its rows only, not its indexes), and how many bytes of them are used. */
  const tablePages = (table: 'auth_codes' | 'pins' = 'auth_codes') =>
    raw.prepare('SELECT count(*) AS pages, sum(pgsize - unused) AS used FROM dbstat WHERE name = ?').get(table) as { pages: number; used: number };

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

  const pinRoom = (p: Pin) => raw.prepare('SELECT iif(room IS NULL, NULL, hex(room)) FROM pins WHERE user_code = ?').pluck().get(p.userCode);

  it('a new PIN carries 16 spare bytes; its first poll, approval or wrong try gives them up', async () => {
    const grantId = (await storage.upsertV1Grant(grantRequest(T0))).id;
    const [polled, approved, mistyped] = [pin(), pin(), pin()];
    for (const p of [polled, approved, mistyped]) assert.equal(await storage.createPin(p), true);
    assert.equal(pinRoom(polled), '00'.repeat(16));
    assert.equal(await storage.touchPinPoll(polled.userCode, T0 + 1), null);
    assert.equal(await storage.approvePin(approved.userCode, grantId, T0 + 1), true);
    assert.equal(await storage.addPinFailure(mistyped.userCode), 1);
    for (const p of [polled, approved, mistyped]) assert.equal(pinRoom(p), null);
  });

  it('polling, approving and mistyping a thousand PINs written back to back splits no table page', async () => {
    const grantId = (await storage.upsertV1Grant(grantRequest(T0))).id;
    const pins = Array.from({ length: 1000 }, pin);
    for (const p of pins) assert.equal(await storage.createPin(p), true);
    const before = tablePages('pins');
    assert.ok(before.pages >= 10, `the PINs fill ${before.pages} pages`);

    for (const p of pins) await storage.touchPinPoll(p.userCode, T0 + 5_000);
    for (const p of pins) await storage.addPinFailure(p.userCode);
    for (const p of pins) assert.equal(await storage.approvePin(p.userCode, grantId, T0 + 6_000), true);
    const afterwards = tablePages('pins');
    assert.equal(afterwards.pages, before.pages);
    assert.ok(afterwards.used <= before.used, `${afterwards.used} bytes used after, ${before.used} before`);
  });
});
