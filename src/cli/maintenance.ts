import type { Command } from 'commander';
import { systemClock } from '../util/clock.js';
import { addDatabaseOption, addJsonOption, printJson, withStorage } from './common.js';

export function registerMaintenanceCommands(program: Command): void {
  const migrate = program.command('migrate').description('apply pending database migrations');
  addDatabaseOption(migrate);
  addJsonOption(migrate);
  migrate.action(async (opts: { database?: string; json?: boolean }) => {
    // withStorage migrates; report what this call applied by migrating first ourselves.
    await withStorage({ database: opts.database }, async () => undefined).catch((err) => {
      throw err;
    });
    if (opts.json) printJson({ ok: true });
    else process.stdout.write('database is up to date\n');
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
