import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { User } from '../storage/storage.js';
import { randomBase64Url, sha256Hex } from '../util/crypto.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: User | null;
    sessionIdHash: string | null;
  }
}

export const SESSION_COOKIE = 'kf_session';
const SESSION_LIFETIME_MS = 30 * 24 * 3600 * 1000;

/**
 * Web sessions: a random id in a signed, HttpOnly, SameSite=Lax cookie; the database
 * holds only its hash, so any instance sharing the database and the server secret
 * recognises it. Lax (not Strict) because the consent page is reached by a top-level
 * navigation from the client's site and must see the session.
 */
export function registerSessions(app: FastifyInstance, services: Services): void {
  app.decorateRequest('user', null);
  app.decorateRequest('sessionIdHash', null);
  app.addHook('onRequest', async (request) => {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return;
    const unsigned = request.unsignCookie(raw);
    if (!unsigned.valid || !unsigned.value) return;
    const idHash = sha256Hex(unsigned.value);
    const session = await services.storage.findSession(idHash, services.clock.now());
    if (!session) return;
    const user = await services.storage.findUserById(session.userId);
    if (!user) return;
    request.user = user;
    request.sessionIdHash = idHash;
  });
}

export function cookieSecure(services: Services): boolean {
  return services.config.webUrl.startsWith('https:');
}

export async function startSession(services: Services, reply: FastifyReply, userId: number): Promise<void> {
  const id = randomBase64Url(32);
  const now = services.clock.now();
  await services.storage.createSession({ idHash: sha256Hex(id), userId, createdAt: now, expiresAt: now + SESSION_LIFETIME_MS });
  reply.setCookie(SESSION_COOKIE, id, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: cookieSecure(services),
    signed: true,
    maxAge: SESSION_LIFETIME_MS / 1000,
  });
}

export async function endSession(services: Services, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (request.sessionIdHash) await services.storage.deleteSession(request.sessionIdHash);
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
}

/**
 * `next` after sign-in: only a local path (one leading slash, no backslash, no scheme),
 * so sign-in can never become an open redirector (RFC 9700 §4.11).
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 4096) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\') || /[\u0000-\u001f\u007f]/.test(next)) return '/';
  return next;
}

/**
 * Sends a visitor who is not signed in to sign-in, then back to where they were (or to
 * `returnTo`, a page a form's POST-only address stands for). Returns the user or null
 * (reply sent).
 */
export function requireUser(request: FastifyRequest, reply: FastifyReply, returnTo?: string): User | null {
  if (request.user) return request.user;
  void reply.redirect(`/signin?next=${encodeURIComponent(safeNext(returnTo ?? pageFor(request)))}`, 303);
  return null;
}

/** Where to come back to: the URL itself for a page; for a form post, the page at that address if there is one, else the start page. */
function pageFor(request: FastifyRequest): string {
  if (request.method === 'GET' || request.method === 'HEAD') return request.url;
  const path = request.url.split('?', 1)[0]!;
  return request.server.hasRoute({ method: 'GET', url: path }) ? path : '/';
}
