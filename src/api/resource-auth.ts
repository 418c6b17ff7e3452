import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProtocolError } from '../oauth/errors.js';
import { hashToken, looksLikeV1Token } from '../oauth/tokens.js';
import type { Services } from '../services.js';
import type { TokenLookup, User } from '../storage/storage.js';
import { bearerToken, requestClientId } from './client.js';

/**
 * §10.4: 10 GET/s and 1 POST/s, per token when one is sent, else per client_id.
 * Answers 429 rate_limit with Retry-After.
 */
async function enforceApiRate(services: Services, request: FastifyRequest, reply: FastifyReply, key: string): Promise<void> {
  if (!services.config.rateLimits) return;
  const isGet = request.method === 'GET' || request.method === 'HEAD';
  const limit = isGet ? 10 : 1;
  const r = await services.limiter.hit(`api:${isGet ? 'get' : 'post'}:${key}`, limit, 1000);
  if (!r.allowed) {
    reply.header('retry-after', String(Math.max(1, Math.ceil(r.resetMs / 1000))));
    throw new ProtocolError('rate_limit');
  }
}

/**
 * Authorizes a call to a user endpoint (§9): client_id first (412 client_id_failed),
 * then the bearer token (401 user_token_failed). A token only works with the client_id
 * it was issued to (docs/decisions/0005).
 *
 * Hot path: a valid token whose app matches the client_id costs one indexed lookup;
 * the app is looked up on its own only to tell a 412 from a 401.
 */
export async function requireUserToken(services: Services, request: FastifyRequest, reply: FastifyReply): Promise<TokenLookup> {
  const clientId = requestClientId(request);
  if (!clientId) throw new ProtocolError('client_id_failed');
  const token = bearerToken(request);
  const lookup = token !== undefined && looksLikeV1Token(token) ? await services.storage.findAccessToken(hashToken(token), services.clock.now()) : null;
  if (lookup && lookup.clientId === clientId) return accepted(services, request, reply, lookup);
  return refuse(services, request, reply, clientId);
}

/**
 * requireUserToken, and the token's user: one storage lookup where the storage offers it
 * (decision 0081). A token whose user is gone is refused like an unknown token.
 */
export async function requireUserTokenWithUser(services: Services, request: FastifyRequest, reply: FastifyReply): Promise<{ lookup: TokenLookup; user: User }> {
  const storage = services.storage;
  if (!storage.findAccessTokenWithUser) {
    const lookup = await requireUserToken(services, request, reply);
    const user = await storage.findUserById(lookup.userId);
    if (!user) throw new ProtocolError('user_token_failed');
    return { lookup, user };
  }
  const clientId = requestClientId(request);
  if (!clientId) throw new ProtocolError('client_id_failed');
  const token = bearerToken(request);
  const found = token !== undefined && looksLikeV1Token(token) ? await storage.findAccessTokenWithUser(hashToken(token), services.clock.now()) : null;
  if (found && found.lookup.clientId === clientId) {
    await accepted(services, request, reply, found.lookup);
    return found;
  }
  return refuse(services, request, reply, clientId);
}

async function accepted(services: Services, request: FastifyRequest, reply: FastifyReply, lookup: TokenLookup): Promise<TokenLookup> {
  if (services.config.rateLimits) await enforceApiRate(services, request, reply, `token:${lookup.grantId}`);
  services.usage.record(lookup.grantId, services.clock.now());
  return lookup;
}

/** The token is missing, unknown or another app's: 412 when the client_id is unknown, else 401. */
async function refuse(services: Services, request: FastifyRequest, reply: FastifyReply, clientId: string): Promise<never> {
  const app = clientId.length <= 200 ? await services.storage.findAppByClientId(clientId) : null;
  if (!app) throw new ProtocolError('client_id_failed');
  await enforceApiRate(services, request, reply, `client:${app.id}`);
  throw new ProtocolError('user_token_failed');
}
