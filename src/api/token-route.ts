import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProtocolError, type ErrorId } from '../oauth/errors.js';
import { parseBasicAuth } from '../oauth/client-auth.js';
import { exchangeAuthorizationCode } from '../oauth/grants/authorization-code.js';
import type { RawParams } from '../oauth/params.js';
import type { Services } from '../services.js';
import { requestMeta } from './client.js';

/**
 * Guessing limits at the token endpoint (RFC 6749 §10.10, §10.5; docs/decisions/0071):
 * failed attempts that could be guesses are counted per client address; once an address
 * has `failuresPerAddress` of them in a window, it is answered 429 until the window ends,
 * before anything is read or consumed (so a refused request burns no code).
 */
export const TOKEN_LIMITS = {
  failuresPerAddress: 60,
  windowMs: 60 * 1000,
} as const;

/** Failures that could be guesses: a wrong client id, secret or verifier, an unknown, used or expired code. */
const GUESS_ERRORS: ReadonlySet<ErrorId> = new Set<ErrorId>(['client_id_failed', 'secret_error', 'grant_error']);

function failureKey(request: FastifyRequest): string {
  return `token:fail:ip:${request.ip}`;
}

/** 429 once this address has failed too often (decision 0071). */
function refuseWhenLimited(failures: number, reply: FastifyReply): void {
  if (failures >= TOKEN_LIMITS.failuresPerAddress) {
    reply.header('retry-after', String(TOKEN_LIMITS.windowMs / 1000));
    throw new ProtocolError('rate_limit', 'Too many failed token requests from this address; try again later');
  }
}

/**
 * The §5.2 success body, field for field and in the order v1TokenResponse builds it: a
 * 200 schema lets Fastify compile a serializer instead of JSON.stringify per call.
 */
const TOKEN_SCHEMA = {
  type: 'object',
  required: ['access_token', 'token_type', 'scope', 'expires_in'],
  properties: {
    access_token: { type: 'string' },
    token_type: { type: 'string' },
    scope: { type: 'string' },
    expires_in: { type: 'integer' },
  },
} as const;

/** POST /oauth/token (reference §5): form or JSON body, credentials in the body or HTTP Basic. */
export function registerTokenRoute(app: FastifyInstance, services: Services): void {
  app.post('/oauth/token', { schema: { response: { 200: TOKEN_SCHEMA } } }, async (request, reply) => {
    const { limiter } = services;
    const key = failureKey(request);
    // A limiter counting in this process answers at once: no promise on every token request.
    refuseWhenLimited(limiter.peekNow ? limiter.peekNow(key, TOKEN_LIMITS.windowMs) : await limiter.peek(key, TOKEN_LIMITS.windowMs), reply);
    const body = (request.body ?? {}) as RawParams;
    let params: RawParams = typeof body === 'object' && !Array.isArray(body) ? body : {};
    // §5.1: client_id may also ride in the query string next to app-name/app-version.
    const q = request.query as RawParams;
    if (params.client_id === undefined && typeof q.client_id === 'string') params = { ...params, client_id: q.client_id };
    try {
      const result = await exchangeAuthorizationCode(services, {
        body: params,
        basic: parseBasicAuth(request.headers.authorization),
        meta: requestMeta(request),
      });
      // RFC 6749 §5.1: token responses are never cached.
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return result;
    } catch (err) {
      if (err instanceof ProtocolError && GUESS_ERRORS.has(err.id)) {
        await limiter.hit(key, Infinity, TOKEN_LIMITS.windowMs);
      }
      throw err;
    }
  });
}
