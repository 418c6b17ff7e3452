import type { Command } from 'commander';
import { createApp } from '../accounts/apps.js';
import { FieldError } from '../accounts/users.js';
import { systemClock } from '../util/clock.js';
import { addDatabaseOption, addJsonOption, printJson, withStorage } from './common.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerAppsCommands(program: Command): void {
  const apps = program.command('apps').description('manage registered apps');

  const create = apps
    .command('create')
    .description('register an app; prints client_id (and client_secret for confidential apps, shown once)')
    .requiredOption('--owner <username>', 'the account that owns the app')
    .requiredOption('--name <name>', 'name shown on the consent page')
    .option('--redirect-uri <uri>', 'a redirect URI (repeatable)', collect, [] as string[])
    .option('--public', 'a public app: no client secret, PKCE required');
  addDatabaseOption(create);
  addJsonOption(create);
  create.action(async (opts: { owner: string; name: string; redirectUri: string[]; public?: boolean; database?: string; json?: boolean }) => {
    await withStorage({ database: opts.database }, async (storage) => {
      const owner = await storage.findUserByUsername(opts.owner);
      if (!owner) throw new FieldError('owner', `no user named ${opts.owner}`);
      const { app, clientSecret } = await createApp(storage, systemClock, {
        ownerId: owner.id,
        name: opts.name,
        redirectUris: opts.redirectUri,
        isPublic: Boolean(opts.public),
      });
      if (opts.json) {
        printJson(clientSecret === null ? { client_id: app.clientId } : { client_id: app.clientId, client_secret: clientSecret });
      } else {
        process.stdout.write(`client_id:     ${app.clientId}\n`);
        if (clientSecret !== null) process.stdout.write(`client_secret: ${clientSecret}  (shown once; keep it safe)\n`);
      }
    });
  });

  const list = apps.command('list').description('list registered apps');
  addDatabaseOption(list);
  addJsonOption(list);
  list.action(async (opts: { database?: string; json?: boolean }) => {
    await withStorage({ database: opts.database }, async (storage) => {
      const all = await storage.listApps();
      const rows = all.map((a) => ({
        client_id: a.clientId,
        name: a.name,
        owner: a.ownerName,
        type: a.secretHash === null ? 'public' : 'confidential',
        redirect_uris: a.redirectUris,
        created_at: new Date(a.createdAt).toISOString(),
      }));
      if (opts.json) printJson(rows);
      else if (rows.length === 0) process.stdout.write('no apps\n');
      else for (const r of rows) process.stdout.write(`${r.client_id}  ${r.type.padEnd(12)}  ${r.name}  (owner ${r.owner})\n`);
    });
  });
}
