import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStorage } from '../../src/storage/sqlite/sqlite-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { defineStorageContract } from './contract.js';

const dirs: string[] = [];
const files = new WeakMap<Storage, string>();

function newFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-contract-'));
  dirs.push(dir);
  return join(dir, 'keyfob.sqlite');
}

defineStorageContract('sqlite', {
  async open() {
    const file = newFile();
    const s = new SqliteStorage(file);
    files.set(s, file);
    await s.migrate();
    return s;
  },
  async openPeer(first) {
    const s = new SqliteStorage(files.get(first)!);
    await s.migrate();
    return s;
  },
  async openUnmigrated() {
    const file = newFile();
    return { storages: [new SqliteStorage(file), new SqliteStorage(file), new SqliteStorage(file)], more: async () => new SqliteStorage(file) };
  },
  async destroy() {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  },
});
