import { Eta } from 'eta';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { User } from '../storage/storage.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Templates are read from the source tree (src/web/templates), from src/ and dist/ alike. */
export const TEMPLATE_DIR = join(here, '..', '..', 'src', 'web', 'templates');
export const STATIC_DIR = join(here, '..', '..', 'src', 'web', 'static');

/** Eta with auto-escaping: `<%= %>` escapes, and raw output (`<%~ %>`) is used only for other rendered templates. */
const eta = new Eta({ views: TEMPLATE_DIR, autoEscape: true, cache: process.env.NODE_ENV !== 'development', autoTrim: false });

/** What every page receives besides its own data. */
export interface PageContext {
  title: string;
  user: User | null;
  csrf?: string;
  signupEnabled?: boolean;
  [key: string]: unknown;
}

export function renderTemplate(name: string, data: PageContext): string {
  return eta.render(`./${name}`, data);
}

/**
 * Sends an HTML page. Security headers are added for every HTML response by the web plugin.
 * A signed-in page always gets a CSRF token, because the layout's sign-out form needs one
 * (error pages included). Pages are never stored by caches.
 */
export function sendPage(reply: FastifyReply, name: string, data: PageContext, status = 200): FastifyReply {
  const page = data.user && !data.csrf ? { ...data, csrf: reply.generateCsrf() } : data;
  // Pages carry CSRF tokens and account data: no cache, shared or private, keeps them (RFC 9111 §5.2.2.5).
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  return reply.code(status).type('text/html; charset=utf-8').send(renderTemplate(name, page));
}

/** The signed-in user, set by the session hook. */
export function currentUser(request: FastifyRequest): User | null {
  return request.user ?? null;
}
