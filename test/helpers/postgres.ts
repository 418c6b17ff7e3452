import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { parsePostgresUrl } from '../../src/storage/postgres/connection.js';

/**
 * The PostgreSQL the tests use: 127.0.0.1:5432, database `test`, trust auth
 * (scripts/test-setup.sh starts it). KEYFOB_TEST_PG_URL points elsewhere.
 * There is deliberately no "skip when absent": a missing database fails the tests.
 */
export const TEST_PG_URL = process.env.KEYFOB_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database URL naming a fresh schema of its own (created by migrate()), so runs never see each other's rows. */
export function freshSchemaUrl(label = 't'): string {
  const schema = `kf_${label}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = new URL(TEST_PG_URL);
  url.searchParams.set('schema', schema);
  return url.toString();
}

/** Runs one statement on a short-lived connection (outside keyfob's pool). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Drops the schema a freshSchemaUrl() named, with everything in it. */
export async function dropSchema(url: string): Promise<void> {
  const { schema } = parsePostgresUrl(url);
  if (!schema) throw new Error('dropSchema needs a URL with ?schema=');
  await adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
}
