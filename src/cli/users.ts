import type { Command } from 'commander';
import { createUser } from '../accounts/users.js';
import { systemClock } from '../util/clock.js';
import { addDatabaseOption, addJsonOption, printJson, withStorage } from './common.js';

export function registerUsersCommands(program: Command): void {
  const users = program.command('users').description('manage accounts');
  const create = users.command('create').description('create an account').requiredOption('--username <name>').requiredOption('--password <password>');
  addDatabaseOption(create);
  addJsonOption(create);
  create.action(async (opts: { username: string; password: string; database?: string; json?: boolean }) => {
    await withStorage({ database: opts.database }, async (storage) => {
      const user = await createUser(storage, systemClock, { username: opts.username, password: opts.password });
      if (opts.json) printJson({ id: user.id, username: user.username });
      else process.stdout.write(`created user ${user.username} (id ${user.id})\n`);
    });
  });
}
