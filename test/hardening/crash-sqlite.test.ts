import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, startCli, stopChild, waitForIncoming, exitWithin } from '../helpers/cli.js';
import { freePort } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startExchangeLoad } from '../helpers/exchange-load.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';

interface Running {
  child: Awaited<ReturnType<typeof startCli>>['child'];
  output: () => string;
  web: string;
  api: string;
}

async function serve(db: string, ports: [number, number], env: Record<string, string> = {}): Promise<Running> {
  const { child, output } = await startCli(['serve', '--database', db, '--web-port', String(ports[0]), '--api-port', String(ports[1]), '--no-demo'], /api origin on/, {
    KEYFOB_RATE_LIMITS: 'false',
    ...env,
  });
  return { child, output, web: `http://127.0.0.1:${ports[0]}`, api: `http://127.0.0.1:${ports[1]}` };
}

describe('faults on SQLite', () => {
  it('kill -9 in the middle of exchanges and approvals loses nothing a client was given', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'kf-crash-')), 'keyfob.sqlite');
    await runCli(['users', 'create', '--username', 'crash', '--password', 'crash-password', '--database', db]);
    const app = JSON.parse((await runCli(['apps', 'create', '--owner', 'crash', '--name', 'Crash', '--redirect-uri', REDIRECT, '--database', db, '--json'])).stdout) as {
      client_id: string;
      client_secret: string;
    };
    // Many users, so each approval mints a distinct token.
    const users: string[] = [];
    for (let i = 0; i < 12; i++) {
      users.push(`user${i}`);
      await runCli(['users', 'create', '--username', `user${i}`, '--password', 'user-password', '--database', db]);
    }
    const ports: [number, number] = [await freePort(), await freePort()];
    let server = await serve(db, ports);

    const load = await startExchangeLoad({ webUrl: server.web, apiUrl: server.api, users, password: 'user-password', client: app, redirectUri: REDIRECT });
    const { redeemed } = load;
    await load.killServerMidStream(server.child, 10_000);

    server = await serve(db, ports);
    try {
      await load.assertTokensWork(server.api);
    } finally {
      await stopChild(server.child);
    }
    const handle = new Database(db, { readonly: true });
    try {
      assert.deepEqual(handle.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      assert.deepEqual(handle.pragma('foreign_key_check'), []);
      // Every redeemed code left a tombstone naming the grant it produced (docs/decisions/0070).
      const tomb = handle.prepare('SELECT consumed_at, grant_id FROM auth_codes WHERE code_hash = ?');
      for (const code of redeemed.keys()) {
        const row = tomb.get(createHash('sha256').update(code).digest('hex')) as { consumed_at: number | null; grant_id: number | null } | undefined;
        assert.ok(row && row.consumed_at !== null && row.grant_id !== null, 'a redeemed code is a tombstone with its grant');
      }
      const twoLive = handle.prepare(`SELECT user_id, app_id FROM grants WHERE dialect = 'v1' AND revoked_at IS NULL GROUP BY user_id, app_id HAVING COUNT(*) > 1`).all();
      assert.deepEqual(twoLive, [], 'one live V1 grant per (user, app)');
    } finally {
      handle.close();
    }
  });

  it('SIGTERM lets in-flight requests finish, then exits 0', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'kf-term-')), 'keyfob.sqlite');
    await runCli(['users', 'create', '--username', 'term', '--password', 'term-password', '--database', db]);
    const ports: [number, number] = [await freePort(), await freePort()];
    // At info, the server logs each request as it starts handling it.
    const server = await serve(db, ports, { KEYFOB_LOG_LEVEL: 'info' });
    const agent = new WebAgent(server.web);
    const { csrf } = await agent.page('/signin');
    // Sign-ins are slow on purpose (Argon2id): a good in-flight load.
    let signalledAt = Infinity;
    const inflight = Array.from({ length: 16 }, (_, i) =>
      agent.post('/signin', { _csrf: csrf, username: 'term', password: i % 2 ? 'term-password' : 'wrong-password', next: '/' }).then((r) => ({ status: r.status, after: Date.now() > signalledAt })),
    );
    // The signal comes once the server is handling every one of them (a request still unread
    // when it comes is refused, rightly); Argon2id keeps them in flight for a while after.
    await waitForIncoming(server.output, 'POST', '/signin', 16);
    signalledAt = Date.now();
    const exited = stopChild(server.child, 'SIGTERM');
    const answers = await Promise.all(inflight);
    for (const a of answers) assert.ok(a.status === 303 || a.status === 401, `in-flight request finished with ${a.status}`);
    assert.ok(answers.some((a) => a.after), 'some requests were still in flight when SIGTERM arrived');
    // Promptly: the answered clients' keep-alive connections do not hold the exit (Fastify
    // keeps an idle one open for 72 s).
    assert.equal(await exitWithin(exited, 20_000), 0);
  });
});
