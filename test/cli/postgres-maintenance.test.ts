/**
 * `keyfob migrate` and `keyfob cleanup` on PostgreSQL, as separate processes: several
 * migrations started together apply each version once; cleanup reports what it removed.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PostgresStorage } from '../../src/storage/postgres/postgres-storage.js';
import { TEST_SECRET } from '../helpers/keyfob.js';
import { adminQuery, dropSchema, freshSchemaUrl } from '../helpers/postgres.js';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist/cli/index.js');

function keyfob(args: string[], env: Record<string, string> = { KEYFOB_SECRET: TEST_SECRET }) {
  return run(process.execPath, [CLI, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env } });
}

describe('keyfob migrate and cleanup on PostgreSQL', () => {
  const database = freshSchemaUrl('cli');
  before(() => {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  });
  after(async () => dropSchema(database));

  it('three `keyfob migrate` started together all succeed and apply each version once', async () => {
    const outs = await Promise.all([1, 2, 3].map(() => keyfob(['migrate', '--database', database, '--json'])));
    const applied = outs.map((o) => (JSON.parse(o.stdout) as { ok: boolean; applied: number[] }).applied);
    assert.equal(applied.filter((a) => a.length > 0).length, 1, JSON.stringify(applied));
    const all = applied.flat();
    assert.equal(new Set(all).size, all.length);
    const schema = new URL(database).searchParams.get('schema');
    const rows = await adminQuery<{ version: number }>(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
    assert.deepEqual(
      rows.map((r) => r.version),
      all.sort((x, y) => x - y),
    );
    const again = await keyfob(['migrate', '--database', database]);
    assert.equal(again.stdout, 'database is up to date\n');
  });

  it('refuses to run on PostgreSQL without the shared secret, naming it', async () => {
    await assert.rejects(keyfob(['migrate', '--database', database], {}), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /KEYFOB_SECRET/);
      return true;
    });
  });

  it('`keyfob cleanup --json` removes expired records and reports the counts', async () => {
    const s = await PostgresStorage.connect(database);
    try {
      const u = await s.createUser({ username: 'cleanup_cli', passwordHash: 'h', createdAt: 1 });
      await s.createSession({ idHash: 'expired-session', userId: u.id, createdAt: 1, expiresAt: 2 });
      await s.createSession({ idHash: 'live-session', userId: u.id, createdAt: 1, expiresAt: Date.now() + 3_600_000 });
    } finally {
      await s.close();
    }
    const out = await keyfob(['cleanup', '--database', database, '--json']);
    assert.deepEqual(JSON.parse(out.stdout), { authCodes: 0, pins: 0, sessions: 1 });
  });
});
