import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RateResult } from '../ratelimit/limiter.js';
import { ProtocolError } from '../oauth/errors.js';
import { hashToken } from '../oauth/tokens.js';
import type { Services } from '../services.js';
import type { Storage, TokenLookup, User } from '../storage/storage.js';
import type { MaybePromise } from '../util/maybe-promise.js';
import { requestClientId } from './client.js';

/** A call's token, accepted, and the account it acts for. */
export interface Authorized {
  lookup: TokenLookup;
  user: User;
}

/**
 * §10.4: 10 GET/s and 1 POST/s, per token when one is sent, else per client_id.
 * Answers 429 rate_limit with Retry-After. Without a promise when the limiter can count
 * at once (the in-process one).
 */
function enforceApiRate(services: Services, request: FastifyRequest, reply: FastifyReply, key: string): void | Promise<void> {
  if (!services.config.rateLimits) return;
  const isGet = request.method === 'GET' || request.method === 'HEAD';
  const limit = isGet ? 10 : 1;
  const counter = `api:${isGet ? 'get' : 'post'}:${key}`;
  const { limiter } = services;
  if (limiter.hitNow) return checkRate(reply, limiter.hitNow(counter, limit, 1000));
  return limiter.hit(counter, limit, 1000).then((r) => checkRate(reply, r));
}

function checkRate(reply: FastifyReply, r: RateResult): void {
  if (r.allowed) return;
  reply.header('retry-after', String(Math.max(1, Math.ceil(r.resetMs / 1000))));
  throw new ProtocolError('rate_limit');
}

/**
 * `Authorization: Bearer <V1 token>` in one test: bearerToken's rule (RFC 6750 §2.1, scheme
 * in any case, one or more spaces) and looksLikeV1Token's shape (64 lower-case hex).
 */
const V1_BEARER = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([0-9a-f]{64})\s*$/;

/**
 * The token an `Authorization` header carries, to be hashed and looked up, or null when the
 * header is of no shape a V1 token can come in.
 *
 * What clients send nearly always, `Bearer`, one space and 64 characters, is taken as it
 * is, without testing the 64 for lower-case hex (docs/decisions/0101): a regular
 * expression over them cost about 1,500 instructions of a 94,000-instruction token check
 * (bench/README.md, tenth round), and decides nothing there. Tokens are stored as SHA-256
 * digests of lower-case hex, so 64 characters of anything else hash to a digest no stored
 * token has, and are refused like any unknown token (401 user_token_failed). Every other
 * header is held to V1_BEARER. Only the digest ever reaches the storage.
 */
export function sentV1Token(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (header.length === 71 && header.startsWith('Bearer ')) return header.slice(7);
  const m = V1_BEARER.exec(header);
  return m ? m[1]! : null;
}

/**
 * Authorizes a call to a user endpoint (§9): client_id first (412 client_id_failed),
 * then the bearer token (401 user_token_failed). A token only works with the client_id
 * it was issued to (docs/decisions/0005). Returns the token and its user; a token whose
 * user is gone is refused like an unknown token.
 *
 * Hot path, every API call: a valid token whose app matches the client_id costs one
 * lookup of token and user together (decision 0081), and no promise at all where the
 * storage and the limiter answer at once (SQLite, in-process limits; decision 0085).
 * The app is looked up on its own only to tell a 412 from a 401.
 */
export function requireUserTokenWithUser(services: Services, request: FastifyRequest, reply: FastifyReply): MaybePromise<Authorized> {
  const { storage } = services;
  const clientId = requestClientId(request);
  if (!clientId) throw new ProtocolError('client_id_failed');
  // Only the token's digest reaches the storage; a header of no V1 shape reaches nothing.
  const token = sentV1Token(request.headers.authorization);
  const kept = token === null ? undefined : services.acceptedTokens.kept(token);
  // A digest made for this call, kept if the token is accepted (decision 0104).
  const made = token === null || kept !== undefined ? null : hashToken(token);
  const hash = kept ?? made;
  const now = services.clock.now();
  const found = hash === null ? null : storage.findAccessTokenWithUser ? storage.findAccessTokenWithUser(hash, now) : tokenThenUser(storage, hash, now);
  // Not `then(found, …)`: that makes a closure on every call, and this is the hottest path.
  if (found instanceof Promise) return found.then((f) => settle(services, request, reply, clientId, now, token, made, f));
  return settle(services, request, reply, clientId, now, token, made, found);
}

/** Without the storage's combined lookup: the token, then its user. */
async function tokenThenUser(storage: Storage, hash: string, now: number): Promise<Authorized | null> {
  const lookup = await storage.findAccessToken(hash, now);
  const user = lookup ? await storage.findUserById(lookup.userId) : null;
  return lookup && user ? { lookup, user } : null;
}

/**
 * The found token accepted (its digest kept for its next call, its rate counted, its use
 * recorded for Connected Apps), or the refusal (and its digest, if kept, dropped).
 */
function settle(
  services: Services,
  request: FastifyRequest,
  reply: FastifyReply,
  clientId: string,
  now: number,
  token: string | null,
  madeDigest: string | null,
  found: Authorized | null,
): MaybePromise<Authorized> {
  if (!found || found.lookup.clientId !== clientId) {
    if (token !== null) services.acceptedTokens.refused(token);
    return refuse(services, request, reply, clientId);
  }
  if (madeDigest !== null) services.acceptedTokens.accepted(token!, madeDigest);
  const lookup = found.lookup;
  const counted = enforceApiRate(services, request, reply, `token:${lookup.grantId}`);
  if (counted === undefined) {
    services.usage.record(lookup.grantId, now);
    return found;
  }
  return counted.then(() => {
    services.usage.record(lookup.grantId, now);
    return found;
  });
}

/** The token is missing, unknown or another app's: 412 when the client_id is unknown, else 401. */
async function refuse(services: Services, request: FastifyRequest, reply: FastifyReply, clientId: string): Promise<never> {
  const app = clientId.length <= 200 ? await services.storage.findAppByClientId(clientId) : null;
  if (!app) throw new ProtocolError('client_id_failed');
  await enforceApiRate(services, request, reply, `client:${app.id}`);
  throw new ProtocolError('user_token_failed');
}
