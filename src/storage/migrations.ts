import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Numbered SQL migrations for one dialect, read from src/storage/<dialect>/migrations
 * (the .sql files are read from the source tree, so dist/ needs no copy of them).
 * File names are NNN_name.sql; NNN is the version.
 */
export function loadMigrations(dialect: 'sqlite' | 'postgres'): Migration[] {
  const here = dirname(fileURLToPath(import.meta.url));
  // Works from src/storage (tsx) and dist/storage (compiled): both sit two levels below the root.
  const dir = join(here, '..', '..', 'src', 'storage', dialect, 'migrations');
  return readdirSync(dir)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, f.indexOf('_'))), name: f, sql: readFileSync(join(dir, f), 'utf8') }));
}
