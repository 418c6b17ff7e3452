import type { FastifyInstance } from 'fastify';

/**
 * The reference writes the settings pages with a trailing slash (§1: `/settings/developer/`,
 * `/settings/connected-apps/`). That form is canonical; the same path without the slash
 * redirects to it, keeping the query string: 301 for GET/HEAD, 308 for POST so a form body
 * is re-sent rather than dropped.
 */
export function redirectToSlash(app: FastifyInstance, pathWithoutSlash: string): void {
  app.route({
    method: ['GET', 'POST'],
    url: pathWithoutSlash,
    handler: async (request, reply) => {
      const q = request.url.indexOf('?');
      const path = `${request.url.slice(0, q === -1 ? undefined : q)}/`;
      const query = q === -1 ? '' : request.url.slice(q);
      return reply.redirect(`${path}${query}`, request.method === 'POST' ? 308 : 301);
    },
  });
}
