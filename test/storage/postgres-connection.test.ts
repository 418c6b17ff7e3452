import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isUnavailable, parsePostgresUrl, toStorageError } from '../../src/storage/postgres/connection.js';
import { PostgresStorage } from '../../src/storage/postgres/postgres-storage.js';
import { StorageUnavailableError } from '../../src/storage/storage.js';
import { freePort } from '../helpers/keyfob.js';

describe('PostgreSQL database URLs', () => {
  it('takes keyfob\'s schema parameter out of the URL handed to the driver', () => {
    const t = parsePostgresUrl('postgres://u:p@db:5433/keyfob?schema=tenant_1&sslmode=require');
    assert.equal(t.schema, 'tenant_1');
    assert.equal(t.connectionString, 'postgres://u:p@db:5433/keyfob?sslmode=require');
  });

  it('reads the schema from libpq options too, and defaults to none', () => {
    assert.equal(parsePostgresUrl('postgresql://db/k?options=-c%20search_path%3Dother').schema, 'other');
    assert.equal(parsePostgresUrl('postgres://db/k').schema, null);
  });

  it('refuses a schema name that is not a plain identifier', () => {
    assert.throws(() => parsePostgresUrl('postgres://db/k?schema=a;DROP%20TABLE%20x'), /plain identifier/);
    assert.throws(() => parsePostgresUrl('postgres://db/k?schema='), /plain identifier/);
  });
});

describe('PostgreSQL connection failures', () => {
  it('classifies socket and server-state errors as unavailable, and nothing else', () => {
    assert.equal(isUnavailable(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isUnavailable(Object.assign(new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), {})), true);
    assert.equal(isUnavailable(Object.assign(new Error('x'), { code: '57P01' })), true);
    assert.equal(isUnavailable(Object.assign(new Error('x'), { code: '08006' })), true);
    assert.equal(isUnavailable(new Error('Connection terminated unexpectedly')), true);
    assert.equal(isUnavailable(Object.assign(new Error('dup'), { code: '23505' })), false);
    assert.equal(isUnavailable(Object.assign(new Error('syntax'), { code: '42601' })), false);
    const mapped = toStorageError(Object.assign(new Error('x'), { code: 'ECONNRESET' }));
    assert.ok(mapped instanceof StorageUnavailableError);
  });

  it('a storage pointed at a port where nothing listens throws StorageUnavailableError, not a crash', async () => {
    const port = await freePort();
    const s = await PostgresStorage.connect(`postgres://postgres@127.0.0.1:${port}/test?schema=nowhere`);
    try {
      await assert.rejects(s.ping(), StorageUnavailableError);
      await assert.rejects(s.migrate(), StorageUnavailableError);
      await assert.rejects(s.consumeAuthCode('x', 0), StorageUnavailableError);
    } finally {
      await s.close();
    }
  });
});
