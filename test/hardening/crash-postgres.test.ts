/**
 * kill -9 on PostgreSQL: a keyfob process is killed in the middle of a load of consent
 * approvals and code exchanges; after a restart every token a client received still
 * works, no code was redeemed twice, every redeemed code's tombstone names the grant it
 * produced, and the schema passes amcheck and keyfob's own integrity checks
 * (test/helpers/pg-integrity.ts). Each run uses a schema of its own.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { parsePostgresUrl } from '../../src/storage/postgres/connection.js';
import { runCli, startCli, stopChild, waitForIncoming, exitWithin } from '../helpers/cli.js';
import { freePort, TEST_SECRET } from '../helpers/keyfob.js';
import { pgIntegrityProblems } from '../helpers/pg-integrity.js';
import { adminQuery, dropSchema, freshSchemaUrl } from '../helpers/postgres.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startExchangeLoad } from '../helpers/exchange-load.js';

const REDIRECT = 'http://127.0.0.1:8765/callback';
const ENV = { KEYFOB_SECRET: TEST_SECRET, KEYFOB_RATE_LIMITS: 'false' };

async function serve(db: string, ports: [number, number], env: Record<string, string> = {}) {
  const { child, output } = await startCli(['serve', '--database', db, '--web-port', String(ports[0]), '--api-port', String(ports[1]), '--no-demo'], /api origin on/, { ...ENV, ...env });
  return { child, output, web: `http://127.0.0.1:${ports[0]}`, api: `http://127.0.0.1:${ports[1]}` };
}

describe('faults on PostgreSQL', () => {
  const db = freshSchemaUrl('crash');
  const schema = parsePostgresUrl(db).schema!;
  after(async () => dropSchema(db));

  it('kill -9 in the middle of approvals and exchanges loses nothing a client was given', async () => {
    await runCli(['users', 'create', '--username', 'crash', '--password', 'crash-password', '--database', db], ENV);
    const created = await runCli(['apps', 'create', '--owner', 'crash', '--name', 'Crash', '--redirect-uri', REDIRECT, '--database', db, '--json'], ENV);
    const app = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    const users = Array.from({ length: 12 }, (_, i) => `user${i}`);
    for (const u of users) await runCli(['users', 'create', '--username', u, '--password', 'user-password', '--database', db], ENV);
    const ports: [number, number] = [await freePort(), await freePort()];
    let server = await serve(db, ports);

    const load = await startExchangeLoad({ webUrl: server.web, apiUrl: server.api, users, password: 'user-password', client: app, redirectUri: REDIRECT });
    const { redeemed } = load;
    await load.killServerMidStream(server.child, 15_000);

    server = await serve(db, ports);
    try {
      await load.assertTokensWork(server.api);
      // Every redeemed code left a tombstone naming the grant whose token the client received.
      const hashes = [...redeemed.keys()].map((c) => createHash('sha256').update(c).digest('hex'));
      const rows = await adminQuery<{ consumed_at: string | null; grant_id: string | null }>(`SELECT consumed_at, grant_id FROM ${schema}.auth_codes WHERE code_hash = ANY($1::text[])`, [hashes]);
      assert.equal(rows.length, hashes.length, 'each redeemed code is still there as a tombstone');
      for (const r of rows) {
        assert.notEqual(r.consumed_at, null);
        assert.notEqual(r.grant_id, null);
      }
      // A redeemed code cannot be redeemed again after the restart either.
      const [someCode] = redeemed.keys();
      const replay = await fetch(`${server.api}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'authorization_code', code: someCode, client_id: app.client_id, client_secret: app.client_secret, redirect_uri: REDIRECT }),
      });
      assert.equal(replay.status, 401);
      assert.equal(((await replay.json()) as { error: string }).error, 'grant_error');
    } finally {
      await stopChild(server.child);
    }
    assert.deepEqual(await pgIntegrityProblems(schema), []);
  });
  it('SIGTERM lets in-flight requests finish, then exits 0', async () => {
    await runCli(['users', 'create', '--username', 'term', '--password', 'term-password', '--database', db], ENV);
    const ports: [number, number] = [await freePort(), await freePort()];
    // At info, the server logs each request as it starts handling it.
    const server = await serve(db, ports, { KEYFOB_LOG_LEVEL: 'info' });
    const agent = new WebAgent(server.web);
    const { csrf } = await agent.page('/signin');
    // Sign-ins are slow on purpose (Argon2id), and each one reads and writes PostgreSQL.
    let signalledAt = Infinity;
    const inflight = Array.from({ length: 24 }, (_, i) =>
      agent.post('/signin', { _csrf: csrf, username: 'term', password: i % 3 ? 'term-password' : 'wrong-password', next: '/' }).then((r) => ({ status: r.status, after: Date.now() > signalledAt })),
    );
    // The signal comes once the server is handling every one of them (a request still unread
    // when it comes is refused, rightly): on a busy machine a fixed wait was not always enough.
    await waitForIncoming(server.output, 'POST', '/signin', 24);
    signalledAt = Date.now();
    const exited = stopChild(server.child, 'SIGTERM');
    const answers = await Promise.all(inflight);
    const statuses = answers.map((a) => a.status);
    for (const st of statuses) assert.ok(st === 303 || st === 401, `in-flight request finished with ${st}`);
    assert.ok(answers.some((a) => a.after), 'some requests were still in flight when SIGTERM arrived');
    // Promptly: the answered clients' keep-alive connections do not hold the exit (Fastify
    // keeps an idle one open for 72 s).
    assert.equal(await exitWithin(exited, 20_000), 0);
    const sessions = await adminQuery<{ n: string }>(`SELECT COUNT(*) AS n FROM ${schema}.sessions s JOIN ${schema}.users u ON u.id = s.user_id WHERE u.username = 'term'`);
    assert.equal(Number(sessions[0]!.n), statuses.filter((st) => st === 303).length, 'every sign-in that answered 303 has its session stored');
  });
});
