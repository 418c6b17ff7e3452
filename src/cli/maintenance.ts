import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { openStorage } from '../storage/open.js';
import { systemClock } from '../util/clock.js';
import { addDatabaseOption, addJsonOption, printJson, withStorage } from './common.js';

export function registerMaintenanceCommands(program: Command): void {
  const migrate = program.command('migrate').description('apply pending database migrations');
  addDatabaseOption(migrate);
  addJsonOption(migrate);
  migrate.action(async (opts: { database?: string; json?: boolean }) => {
    // Several instances may run this at once: the storage serializes them (PostgreSQL: an advisory lock).
    const config = loadConfig({ database: opts.database });
    const storage = await openStorage(config.database);
    try {
      const applied = await storage.migrate();
      if (opts.json) printJson({ ok: true, applied });
      else process.stdout.write(applied.length > 0 ? `applied migrations ${applied.join(', ')}; database is up to date\n` : 'database is up to date\n');
    } finally {
      await storage.close();
    }
  });

  const cleanup = program.command('cleanup').description('remove expired codes, PINs and sessions');
  addDatabaseOption(cleanup);
  addJsonOption(cleanup);
  cleanup.action(async (opts: { database?: string; json?: boolean }) => {
    await withStorage({ database: opts.database }, async (storage) => {
      const counts = await storage.cleanup(systemClock.now());
      if (opts.json) printJson(counts);
      else process.stdout.write(`removed ${counts.authCodes} codes, ${counts.pins} PINs, ${counts.sessions} sessions\n`);
    });
  });
}
