#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config.js';
import { FieldError } from '../accounts/users.js';
import { registerAppsCommands } from './apps.js';
import { registerMaintenanceCommands } from './maintenance.js';
import { registerPinLoginCommand } from './pin-login.js';
import { registerServeCommand } from './serve.js';
import { registerUsersCommands } from './users.js';

/** The `keyfob` command. Each verb lives in its own file; all take --database and --json. */
export function buildProgram(): Command {
  const program = new Command('keyfob')
    .description('Self-hostable OAuth 2.0 authorization server speaking the Simkl auth dialect')
    .version('0.1.0')
    .showHelpAfterError();
  registerServeCommand(program);
  registerUsersCommands(program);
  registerAppsCommands(program);
  registerMaintenanceCommands(program);
  registerPinLoginCommand(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    if (err instanceof ConfigError || err instanceof FieldError) {
      process.stderr.write(`keyfob: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`keyfob: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

await main();
