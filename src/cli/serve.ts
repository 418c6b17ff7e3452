import type { Command } from 'commander';
import { loadConfig } from '../config/config.js';
import { describeDemo, seedDemo } from '../demo.js';
import { buildServer } from '../server.js';
import { openStorage } from '../storage/open.js';
import { systemClock } from '../util/clock.js';
import { addDatabaseOption } from './common.js';

export function registerServeCommand(program: Command): void {
  const serve = program
    .command('serve')
    .description('run the web and api origins')
    .option('--host <address>', 'listen address (env KEYFOB_HOST, default 127.0.0.1)')
    .option('--web-port <port>', 'web origin port (env KEYFOB_WEB_PORT, default 8080)')
    .option('--api-port <port>', 'api origin port (env KEYFOB_API_PORT, default 8081)')
    .option('--web-url <url>', 'public URL of the web origin, e.g. behind a proxy (env KEYFOB_WEB_URL)')
    .option('--api-url <url>', 'public URL of the api origin (env KEYFOB_API_URL)')
    .option('--secret <secret>', 'server secret, 32+ characters (env KEYFOB_SECRET)')
    .option('--redis-url <url>', 'Redis for rate limits across instances (env KEYFOB_REDIS_URL)')
    .option('--redis-prefix <prefix>', 'prefix of every Redis key (env KEYFOB_REDIS_PREFIX, default keyfob:)')
    .option('--cleanup-interval <seconds>', 'seconds between sweeps of expired records, 0 = never (env KEYFOB_CLEANUP_INTERVAL, default 600)')
    .option('--no-signup', 'turn off account creation (env KEYFOB_SIGNUP=false)')
    .option('--no-demo', 'do not create the demo account and apps (env KEYFOB_DEMO=false)');
  addDatabaseOption(serve);
  serve.action(async (opts: Record<string, string | boolean | undefined>) => {
    const config = loadConfig({
      host: opts.host as string | undefined,
      webPort: opts.webPort as string | undefined,
      apiPort: opts.apiPort as string | undefined,
      webUrl: opts.webUrl as string | undefined,
      apiUrl: opts.apiUrl as string | undefined,
      database: opts.database as string | undefined,
      secret: opts.secret as string | undefined,
      redisUrl: opts.redisUrl as string | undefined,
      redisPrefix: opts.redisPrefix as string | undefined,
      cleanupInterval: opts.cleanupInterval as string | undefined,
      // commander sets signup/demo to true unless --no-*; only a given --no-* overrides the environment.
      signup: opts.signup === false ? false : undefined,
      demo: opts.demo === false ? false : undefined,
    });
    const storage = await openStorage(config.database);
    await storage.migrate();
    if (config.demo) {
      const seed = await seedDemo(storage, systemClock, config);
      if (seed) process.stdout.write(`${describeDemo(seed)}\n`);
    }
    const server = await buildServer(config, storage);
    const bound = await server.listen();
    process.stdout.write(`keyfob web origin on ${bound.webUrl} (public ${config.webUrl})\nkeyfob api origin on ${bound.apiUrl} (public ${config.apiUrl})\n`);

    let closing = false;
    const shutdown = async (signal: string) => {
      if (closing) return;
      closing = true;
      server.web.log.info({ signal }, 'shutting down: finishing in-flight requests');
      await server.close();
      await storage.close();
      process.exit(0);
    };
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
    process.on('SIGINT', () => void shutdown('SIGINT'));
  });
}
