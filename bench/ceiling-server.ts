/**
 * The ceiling: a bare Fastify server answering a fixed JSON body (the same shape and
 * size as /users/settings), with no hooks, no logger, nothing else. Whatever keyfob does
 * per request is measured against this, on the same machine, in the same run.
 *
 * Run as its own process so it can be pinned to a core and its CPU time read from /proc.
 * Prints "listening <port>" once ready.
 */
import Fastify from 'fastify';

const BODY = {
  user: { name: 'bench', joined_at: '2026-01-01T00:00:00.000Z', gender: '', avatar: '', bio: '', loc: '', age: '' },
  account: { id: 1, timezone: 'UTC', type: 'free' },
};

const app = Fastify({ logger: false });
app.get('/*', async () => BODY);
app.post('/*', async () => BODY);
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${new URL(address).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
