import type { FastifyInstance } from 'fastify';
import { parseBasicAuth } from '../oauth/client-auth.js';
import { exchangeAuthorizationCode } from '../oauth/grants/authorization-code.js';
import type { RawParams } from '../oauth/params.js';
import type { Services } from '../services.js';
import { requestMeta } from './client.js';

/** POST /oauth/token (reference §5): form or JSON body, credentials in the body or HTTP Basic. */
export function registerTokenRoute(app: FastifyInstance, services: Services): void {
  app.post('/oauth/token', async (request, reply) => {
    const body = (request.body ?? {}) as RawParams;
    // §5.1: client_id may also ride in the query string next to app-name/app-version.
    const merged: RawParams = typeof body === 'object' && !Array.isArray(body) ? { ...body } : {};
    const q = request.query as RawParams;
    if (merged.client_id === undefined && typeof q.client_id === 'string') merged.client_id = q.client_id;
    const result = await exchangeAuthorizationCode(services, {
      body: merged,
      basic: parseBasicAuth(request.headers.authorization),
      meta: requestMeta(request),
    });
    // RFC 6749 §5.1: token responses are never cached.
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return result;
  });
}
