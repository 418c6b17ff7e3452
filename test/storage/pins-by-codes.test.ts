import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStorage } from '../../src/storage/open.js';
import type { Pin, Storage } from '../../src/storage/storage.js';

/** Storage.findLivePinsByCodes (used by /pin to count wrong tries aimed at a live code), on SQLite. */
describe('Storage.findLivePinsByCodes (SQLite)', () => {
  let dir: string;
  let storage: Storage;
  let appId: number;
  const now = 1_800_000_000_000;

  const pin = (userCode: string, expiresAt: number): Pin => ({
    userCode, appId, redirect: null, appName: null, appVersion: null, userAgent: null, createdIp: null,
    createdAt: now - 1000, expiresAt, grantId: null, failedAttempts: 0, lastPolledAt: null,
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keyfob-pins-'));
    storage = await openStorage(join(dir, 'db.sqlite'));
    await storage.migrate();
    const user = await storage.createUser({ username: 'pins', passwordHash: 'x', createdAt: now });
    appId = (await storage.createApp({ clientId: 'c-pins', ownerId: user.id, name: 'A', redirectUris: [], secretHash: null, createdAt: now })).id;
    assert.equal(await storage.createPin(pin('AAAAA', now + 60_000)), true);
    assert.equal(await storage.createPin(pin('AAAAB', now + 60_000)), true);
    assert.equal(await storage.createPin(pin('AAAAC', now)), true); // expires exactly now: not live
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns exactly the live PINs among the given codes', async () => {
    const found = await storage.findLivePinsByCodes(['AAAAA', 'AAAAC', 'ZZZZZ', 'AAAAB'], now);
    assert.deepEqual(found.map((p) => p.userCode).sort(), ['AAAAA', 'AAAAB']);
    assert.equal(found[0]!.appId, appId);
  });

  it('returns nothing for no codes, and handles a few hundred codes in one call', async () => {
    assert.deepEqual(await storage.findLivePinsByCodes([], now), []);
    const many = Array.from({ length: 300 }, (_, i) => `X${i}`);
    assert.deepEqual((await storage.findLivePinsByCodes([...many, 'AAAAB'], now)).map((p) => p.userCode), ['AAAAB']);
  });
});
