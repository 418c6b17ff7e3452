/**
 * The ceiling: a bare Fastify server answering a fixed JSON body (the same shape and
 * size as /users/settings), with no hooks, no logger, nothing else. Whatever keyfob does
 * per request is measured against this, on the same machine, in the same run.
 * With CEILING_CORS=1 it also sends §2.3's CORS headers: the "ceiling + CORS" row.
 * With CEILING_POST=1 (and CEILING_CORS=1) it also parses form bodies and answers a POST
 * the way a token answer is shaped (§5: no-store headers, a token body): the "POST shape"
 * row, what a code exchange's request and answer cost before any of keyfob's work.
 *
 * Run as its own process so it can be pinned to a core and its CPU time read from /proc.
 * Prints "listening <port>" once ready.
 */
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import { CORS_ALLOW_ORIGIN, CORS_EXPOSE_HEADERS } from '../src/api/cors.js';

const BODY = {
  user: { name: 'bench', joined_at: '2026-01-01T00:00:00.000Z', gender: '', avatar: '', bio: '', loc: '', age: '' },
  account: { id: 1, timezone: 'UTC', type: 'free' },
};

/** A token answer's shape and size as keyfob sends it (§5.3). */
const TOKEN_BODY = { access_token: 'f'.repeat(64), token_type: 'bearer', scope: 'public', expires_in: 157680000 };

const app = Fastify({ logger: false });
const post = process.env.CEILING_POST === '1';
// keyfob parses form bodies with the same plugin.
if (post) await app.register(formbody);
// For scale, not for ratios: the same answer with the two CORS headers §2.3 asks of every
// api answer, set the way keyfob sets them (one onRequest hook).
if (process.env.CEILING_CORS === '1') {
  app.addHook('onRequest', (_request, reply, done) => {
    reply.header('access-control-allow-origin', CORS_ALLOW_ORIGIN);
    reply.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    done();
  });
}
app.get('/*', async () => BODY);
app.post(
  '/*',
  post
    ? async (_request, reply) => {
        // Token answers must not be cached (RFC 6749 §5.1), as keyfob sends them.
        reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
        return TOKEN_BODY;
      }
    : async () => BODY,
);
const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.stdout.write(`listening ${new URL(address).port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
