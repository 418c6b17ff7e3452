import type { Storage } from '../storage.js';

/** PostgreSQL storage: not implemented yet (issue: PostgreSQL storage). */
export const PostgresStorage = {
  async connect(_url: string): Promise<Storage> {
    throw new Error('PostgreSQL storage is not available yet');
  },
};
