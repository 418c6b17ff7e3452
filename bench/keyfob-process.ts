/**
 * keyfob as it runs in production: the compiled CLI (`keyfob serve`) in its own process,
 * pinned to the server core, rate limits off (the bench is one client hammering one
 * token) and request logs off (pino writing 20,000 lines a second would be measured
 * instead of keyfob).
 */
import { join } from 'node:path';
import { freePort, startPinned, type Child } from './proc.js';

export const BENCH_SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface RunningKeyfob extends Child {
  apiUrl: string;
  webUrl: string;
}

/** The arguments and environment of `keyfob serve` as the bench runs it (after `node` and its own flags). */
export function keyfobServe(opts: { database: string; root: string; webPort: number; apiPort: number }): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: [
      join(opts.root, 'dist/cli/index.js'),
      'serve',
      '--no-demo',
      '--database',
      opts.database,
      '--secret',
      BENCH_SECRET,
      '--web-port',
      String(opts.webPort),
      '--api-port',
      String(opts.apiPort),
    ],
    env: { ...process.env, KEYFOB_RATE_LIMITS: 'false', KEYFOB_LOG_LEVEL: 'warn', NODE_ENV: 'production' },
  };
}

/** Printed by `keyfob serve` once both origins listen. */
export const KEYFOB_READY = /keyfob api origin on/;

/** `nodeArgs` go before the script, e.g. ['--cpu-prof', '--cpu-prof-dir', dir] for bench/profile.ts. */
export async function startKeyfobProcess(opts: { database: string; core: number; root: string; nodeArgs?: string[] }): Promise<RunningKeyfob> {
  const [webPort, apiPort] = [await freePort(), await freePort()];
  const serve = keyfobServe({ database: opts.database, root: opts.root, webPort, apiPort });
  const child = await startPinned([...(opts.nodeArgs ?? []), ...serve.args], { core: opts.core, cwd: opts.root, ready: KEYFOB_READY, env: serve.env });
  return { ...child, apiUrl: `http://127.0.0.1:${apiPort}`, webUrl: `http://127.0.0.1:${webPort}` };
}
