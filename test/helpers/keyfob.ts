import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/accounts/apps.js';
import { createUser } from '../../src/accounts/users.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import type { RateLimiter } from '../../src/ratelimit/limiter.js';
import { buildServer, type KeyfobServer } from '../../src/server.js';
import { openStorage } from '../../src/storage/open.js';
import type { Storage } from '../../src/storage/storage.js';
import { ManualClock, systemClock, type Clock } from '../../src/util/clock.js';

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

/** A free TCP port on loopback (the OS picks it; a tiny race with other processes is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestKeyfob {
  webUrl: string;
  apiUrl: string;
  config: Config;
  storage: Storage;
  server: KeyfobServer;
  clock: Clock;
  close(): Promise<void>;
}

export interface StartOptions {
  /** A SQLite file path or postgres:// URL; default a fresh SQLite file in a temp folder. */
  database?: string;
  clock?: Clock;
  limiter?: RateLimiter;
  env?: Record<string, string>;
  /** Capture log lines here (at the configured KEYFOB_LOG_LEVEL, default silent in tests). */
  logStream?: NodeJS.WritableStream;
}

/** Starts keyfob on two free loopback ports over real HTTP, with its own fresh database. */
export async function startKeyfob(opts: StartOptions = {}): Promise<TestKeyfob> {
  let dir: string | null = null;
  let database = opts.database;
  if (!database) {
    dir = mkdtempSync(join(tmpdir(), 'keyfob-test-'));
    database = join(dir, 'keyfob.sqlite');
  }
  const [webPort, apiPort] = [await freePort(), await freePort()];
  const config = loadConfig(
    { database, webPort, apiPort, secret: TEST_SECRET },
    { KEYFOB_LOG_LEVEL: 'silent', ...(opts.env ?? {}) },
  );
  const storage = await openStorage(config.database);
  await storage.migrate();
  const clock = opts.clock ?? systemClock;
  const server = await buildServer(config, storage, {
    clock,
    ...(opts.logStream ? { logStream: opts.logStream } : { logger: false }),
    ...(opts.limiter ? { limiter: opts.limiter } : {}),
  });
  await server.listen();
  return {
    webUrl: config.webUrl,
    apiUrl: config.apiUrl,
    config,
    storage,
    server,
    clock,
    async close() {
      await server.close();
      await storage.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { ManualClock };

export const REDIRECT_URI = 'http://127.0.0.1:8765/callback';

export interface Fixture {
  username: string;
  password: string;
  userId: number;
  confidential: { clientId: string; clientSecret: string; appId: number };
  public: { clientId: string; appId: number };
}

let counter = 0;

/** A user with a confidential and a public app, both registered with REDIRECT_URI. */
export async function seedFixture(kf: TestKeyfob, extra: { redirectUris?: string[] } = {}): Promise<Fixture> {
  counter += 1;
  const username = `user${counter}_${Math.random().toString(36).slice(2, 8)}`;
  const password = 'correct horse battery';
  const user = await createUser(kf.storage, kf.clock, { username, password });
  const uris = extra.redirectUris ?? [REDIRECT_URI];
  const conf = await createApp(kf.storage, kf.clock, { ownerId: user.id, name: 'Test Confidential', redirectUris: uris, isPublic: false });
  const pub = await createApp(kf.storage, kf.clock, { ownerId: user.id, name: 'Test Public', redirectUris: uris, isPublic: true });
  return {
    username,
    password,
    userId: user.id,
    confidential: { clientId: conf.app.clientId, clientSecret: conf.clientSecret!, appId: conf.app.id },
    public: { clientId: pub.app.clientId, appId: pub.app.id },
  };
}
