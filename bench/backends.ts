/**
 * The databases the bench runs keyfob on: always a fresh SQLite file; PostgreSQL too
 * when it is reachable on 127.0.0.1:5432 and this build has PostgreSQL storage. Each
 * backend that cannot run says why instead of failing the bench.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStorage } from '../src/storage/open.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  database: string;
  cleanup(): Promise<void>;
}

export type BackendOrReason = { backend: Backend } | { name: Backend['name']; unavailable: string };

export function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-bench-'));
  return {
    name: 'sqlite',
    database: join(dir, 'keyfob.sqlite'),
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const PG_HOST = '127.0.0.1:5432';

async function tryConnect(user: string): Promise<pg.Client | null> {
  const client = new pg.Client({ connectionString: `postgres://${user}@${PG_HOST}/test`, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return client;
  } catch {
    await client.end().catch(() => undefined);
    return null;
  }
}

/** A fresh database `keyfob_bench_<pid>` next to `test`, dropped afterwards. */
export async function postgresBackend(): Promise<BackendOrReason> {
  let admin: pg.Client | null = null;
  let user = '';
  for (const u of ['postgres', 'root']) {
    admin = await tryConnect(u);
    if (admin) {
      user = u;
      break;
    }
  }
  if (!admin) return { name: 'postgres', unavailable: `not reachable at ${PG_HOST} (database test, user postgres or root)` };
  const dbName = `keyfob_bench_${process.pid}`;
  try {
    // Does this build have PostgreSQL storage at all?
    try {
      const probe = await openStorage(`postgres://${user}@${PG_HOST}/test`);
      await probe.close();
    } catch (err) {
      await admin.end().catch(() => undefined);
      return { name: 'postgres', unavailable: `PostgreSQL storage not available in this build (${err instanceof Error ? err.message : String(err)})` };
    }
    await admin.query(`DROP DATABASE IF EXISTS ${dbName}`);
    await admin.query(`CREATE DATABASE ${dbName}`);
  } catch (err) {
    await admin.end().catch(() => undefined);
    return { name: 'postgres', unavailable: `could not create a bench database: ${err instanceof Error ? err.message : String(err)}` };
  }
  const client = admin;
  return {
    backend: {
      name: 'postgres',
      database: `postgres://${user}@${PG_HOST}/${dbName}`,
      async cleanup() {
        await client.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    },
  };
}
