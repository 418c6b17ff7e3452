import type { Command } from 'commander';
import { loadConfig, type Config, type ConfigFlags } from '../config/config.js';
import { openStorage } from '../storage/open.js';
import type { Storage } from '../storage/storage.js';

export function addDatabaseOption(cmd: Command): Command {
  return cmd.option('--database <path-or-url>', 'SQLite file or postgres:// URL (env KEYFOB_DATABASE, default ./data/keyfob.sqlite)');
}

export function addJsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print machine-readable JSON');
}

/** Opens and migrates the storage named by flags/env, runs fn, closes it. */
export async function withStorage<T>(flags: ConfigFlags, fn: (storage: Storage, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(flags);
  const storage = await openStorage(config.database);
  try {
    await storage.migrate();
    return await fn(storage, config);
  } finally {
    await storage.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
