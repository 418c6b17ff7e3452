import { isPostgresUrl } from '../config/config.js';
import type { Storage } from './storage.js';
import { SqliteStorage } from './sqlite/sqlite-storage.js';

/** Opens the storage a --database value names: a postgres:// URL or a SQLite file path. */
export async function openStorage(database: string): Promise<Storage> {
  if (isPostgresUrl(database)) {
    const { PostgresStorage } = await import('./postgres/postgres-storage.js');
    return PostgresStorage.connect(database);
  }
  return new SqliteStorage(database);
}
