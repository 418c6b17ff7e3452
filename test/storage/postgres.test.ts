import { PostgresStorage } from '../../src/storage/postgres/postgres-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { dropSchema, freshSchemaUrl } from '../helpers/postgres.js';
import { defineStorageContract } from './contract.js';

// Each run works in schemas of its own and drops them at the end. If PostgreSQL is not
// running these tests fail (scripts/test-setup.sh starts it); they never skip.
const urls: string[] = [];
const urlOf = new WeakMap<Storage, string>();

defineStorageContract('postgres', {
  async open() {
    const url = freshSchemaUrl('contract');
    urls.push(url);
    const s = await PostgresStorage.connect(url);
    urlOf.set(s, url);
    await s.migrate();
    return s;
  },
  async openPeer(first) {
    const s = await PostgresStorage.connect(urlOf.get(first)!);
    await s.migrate();
    return s;
  },
  async openUnmigrated() {
    const url = freshSchemaUrl('migrate');
    urls.push(url);
    const storages = await Promise.all([1, 2, 3].map(() => PostgresStorage.connect(url)));
    return { storages, more: () => PostgresStorage.connect(url) };
  },
  async destroy() {
    for (const url of urls) await dropSchema(url);
  },
});
