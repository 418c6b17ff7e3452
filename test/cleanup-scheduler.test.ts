/**
 * The scheduled sweep of expired codes, PINs and sessions: on PostgreSQL only one
 * instance sweeps at a time (an advisory lock), the others skip that round, and
 * `keyfob cleanup` waits for a running sweep instead of doubling it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startCleanupScheduler } from '../src/cleanup-scheduler.js';
import { LOCK_NAMESPACE_SQL, lockName, PostgresStorage } from '../src/storage/postgres/postgres-storage.js';
import { SqliteStorage } from '../src/storage/sqlite/sqlite-storage.js';
import type { Storage } from '../src/storage/storage.js';
import { ManualClock } from '../src/util/clock.js';
import { loadConfig } from '../src/config/config.js';
import { buildServer } from '../src/server.js';
import { dropSchema, freshSchemaUrl, TEST_PG_URL } from './helpers/postgres.js';

const T0 = 1_700_000_000_000;

/** One expired code, PIN and session, and one live of each. */
async function seedExpiring(s: Storage): Promise<void> {
  const u = await s.createUser({ username: `u${randomBytes(4).toString('hex')}`, passwordHash: 'h', createdAt: T0 });
  const a = await s.createApp({ clientId: randomBytes(8).toString('hex'), ownerId: u.id, name: 'A', redirectUris: [], secretHash: null, createdAt: T0 });
  for (const expiresAt of [T0 + 10, T0 + 1_000_000]) {
    const base = { appId: a.id, appName: null, appVersion: null, userAgent: null, createdAt: T0, expiresAt };
    await s.saveAuthCode({ ...base, codeHash: randomBytes(16).toString('hex'), userId: u.id, redirectUri: null, codeChallenge: null, codeChallengeMethod: null });
    await s.createPin({ ...base, userCode: randomBytes(4).toString('hex'), redirect: null, grantId: null, failedAttempts: 0, lastPolledAt: null, createdIp: null });
    await s.createSession({ idHash: randomBytes(16).toString('hex'), userId: u.id, createdAt: T0, expiresAt });
  }
}

describe('cleanup scheduler on PostgreSQL', () => {
  const url = freshSchemaUrl('cleanup');
  let a: PostgresStorage;
  let b: PostgresStorage;
  let holder: pg.Client;
  const clock = new ManualClock(T0 + 100);
  const lockSql = (fn: string) => `SELECT ${fn}(${LOCK_NAMESPACE_SQL}, hashtext($1))`;

  before(async () => {
    a = await PostgresStorage.connect(url);
    await a.migrate();
    b = await PostgresStorage.connect(url);
    holder = new pg.Client({ connectionString: TEST_PG_URL });
    await holder.connect();
  });
  after(async () => {
    await holder?.end();
    await a?.close();
    await b?.close();
    await dropSchema(url);
  });

  it('skips the round while another instance holds the sweep, then sweeps once it is free', async () => {
    await seedExpiring(a);
    const key = lockName('cleanup', a.schema);
    await holder.query(lockSql('pg_advisory_lock'), [key]);
    const onB = startCleanupScheduler({ storage: b, clock, intervalMs: 0 });
    assert.equal(await onB.runOnce(), null);
    assert.equal(await a.countLivePinsForApp((await a.listApps()).at(-1)!.id, T0), 2, 'nothing was removed');

    await holder.query(lockSql('pg_advisory_unlock'), [key]);
    assert.deepEqual(await onB.runOnce(), { authCodes: 1, pins: 1, sessions: 1 });
    assert.deepEqual(await onB.runOnce(), { authCodes: 0, pins: 0, sessions: 0 });
    await onB.stop();
  });

  it('does not start a second sweep in the same process while one runs', async () => {
    const onA = startCleanupScheduler({ storage: a, clock, intervalMs: 0 });
    const [first, second] = await Promise.all([onA.runOnce(), onA.runOnce()]);
    assert.notEqual(first, null);
    assert.equal(second, null);
    await onA.stop();
  });

  it('keyfob cleanup (storage.cleanup) waits for a running sweep instead of skipping it', async () => {
    await seedExpiring(a);
    const key = lockName('cleanup', a.schema);
    await holder.query(lockSql('pg_advisory_lock'), [key]);
    const pending = b.cleanup(T0 + 100);
    // Wait until PostgreSQL shows the cleanup queued behind the lock.
    // The second half of a two-key advisory lock shows as objid (an unsigned oid).
    const waitingSql = `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 2
                          AND objid::bigint = (hashtext($1)::bigint + 4294967296) % 4294967296`;
    for (let i = 0; i < 200; i++) {
      const r = await holder.query<{ n: string }>(waitingSql, [key]);
      if (Number(r.rows[0]!.n) >= 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const waiting = await holder.query<{ n: string }>(waitingSql, [key]);
    assert.equal(Number(waiting.rows[0]!.n), 1, 'the cleanup is queued behind the held lock');
    await holder.query(lockSql('pg_advisory_unlock'), [key]);
    assert.deepEqual(await pending, { authCodes: 1, pins: 1, sessions: 1 });
  });

  it('runs inside the server on its configured interval', async () => {
    await seedExpiring(a);
    const config = loadConfig({ database: url, webPort: 0, apiPort: 0, secret: 'x'.repeat(32) }, { KEYFOB_LOG_LEVEL: 'silent', KEYFOB_CLEANUP_INTERVAL: '1' });
    assert.equal(config.cleanupIntervalMs, 1000);
    const server = await buildServer(config, a, { clock, logger: false });
    try {
      let remaining = -1;
      for (let i = 0; i < 100; i++) {
        remaining = Number((await holder.query<{ n: string }>(`SELECT count(*) AS n FROM ${a.schema}.pins WHERE expires_at <= $1`, [T0 + 100])).rows[0]!.n);
        if (remaining === 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(remaining, 0, 'the scheduled sweep removed the expired PIN');
    } finally {
      await server.close();
    }
  });
});

describe('cleanup scheduler on SQLite', () => {
  it('sweeps on every run (one writer, no lock needed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyfob-cleanup-'));
    const s = new SqliteStorage(join(dir, 'k.sqlite'));
    try {
      await s.migrate();
      await seedExpiring(s);
      const sched = startCleanupScheduler({ storage: s, clock: new ManualClock(T0 + 100), intervalMs: 0 });
      assert.deepEqual(await sched.runOnce(), { authCodes: 1, pins: 1, sessions: 1 });
      await sched.stop();
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the interval comes from KEYFOB_CLEANUP_INTERVAL (seconds), default 10 minutes, and rejects nonsense', () => {
    const dbFile = join(tmpdir(), 'never-created.sqlite');
    assert.equal(loadConfig({ database: dbFile, secret: 'x'.repeat(32) }, {}).cleanupIntervalMs, 600_000);
    assert.equal(loadConfig({ database: dbFile, secret: 'x'.repeat(32) }, { KEYFOB_CLEANUP_INTERVAL: '0' }).cleanupIntervalMs, 0);
    assert.throws(() => loadConfig({ database: dbFile, secret: 'x'.repeat(32) }, { KEYFOB_CLEANUP_INTERVAL: 'soon' }), /KEYFOB_CLEANUP_INTERVAL/);
  });
});
