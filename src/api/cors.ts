import type { FastifyReply } from 'fastify';

/**
 * §2.3: every api answer allows any origin and exposes these headers; a preflight is
 * answered 204 and cached a day.
 */
export const CORS_ALLOW_ORIGIN = '*';
export const CORS_EXPOSE_HEADERS =
  'X-RateLimit-Limit, X-RateLimit-Remaining, Retry-After, X-Pagination-Page, X-Pagination-Limit, X-Pagination-Page-Count, X-Pagination-Item-Count';
export const CORS_ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
export const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, simkl-api-key, User-Agent, X-Requested-With';
export const CORS_MAX_AGE_S = 86400;

/** §2.3's two headers on every api answer, errors included. */
export function setCorsHeaders(reply: FastifyReply): void {
  reply.header('access-control-allow-origin', CORS_ALLOW_ORIGIN);
  reply.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
}
