import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { StorageUnavailableError } from '../storage/storage.js';
import { sendWebError } from './error-page.js';
import { STATIC_DIR } from './render.js';
import { registerAccountRoutes } from './routes/account.js';
import { registerAuthorizeRoutes } from './routes/authorize.js';
import { registerConnectedAppsRoutes } from './routes/connected-apps.js';
import { registerDeveloperRoutes } from './routes/developer.js';
import { registerMetadataRoute } from './routes/metadata.js';
import { registerPinPages } from './routes/pin.js';
import { registerSecurityHeaders } from './security-headers.js';
import { cookieSecure, registerSessions } from './session.js';

/** Paths that live on the api origin; asking the web origin for them gets a 404 naming the right place. */
const API_PATHS = ['/oauth/token', '/oauth/pin', '/users/settings', '/oauth2/token', '/oauth2/device', '/oauth2/revoke'];

/**
 * The web origin (the `simkl.com` role): pages for people. Templates auto-escape,
 * every form carries a CSRF token, every response carries the security headers.
 */
export async function registerWeb(app: FastifyInstance, services: Services): Promise<void> {
  await app.register(cookie, { secret: services.config.secret, hook: 'onRequest' });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(csrf, {
    cookieKey: 'kf_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', signed: true, secure: cookieSecure(services) },
    getToken: (request) => {
      const body = request.body as Record<string, unknown> | undefined;
      const t = body?._csrf;
      return typeof t === 'string' ? t : undefined;
    },
  });
  registerSecurityHeaders(app, { https: services.config.webUrl.startsWith('https:') });
  registerSessions(app, services);
  await app.register(fastifyStatic, { root: STATIC_DIR, prefix: '/static/', decorateReply: false, maxAge: 3600 * 1000 });

  app.setErrorHandler((err, request, reply) => {
    const e = err as { code?: string; statusCode?: number };
    if (e.code === 'FST_CSRF_INVALID_TOKEN' || e.code === 'FST_CSRF_MISSING_SECRET') {
      return sendWebError(request, reply, 403, 'csrf_failed', 'This form has expired or was not sent from this site. Go back, reload the page and try again.');
    }
    if (err instanceof StorageUnavailableError) {
      reply.header('retry-after', '5');
      return sendWebError(request, reply, 503, 'service_unavailable', 'keyfob cannot reach its database right now. Try again in a moment.');
    }
    const status = e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'request failed');
    const message = status === 500 ? 'Something broke on our side. Try again.' : 'The request could not be understood.';
    return sendWebError(request, reply, status, status === 500 ? 'internal' : 'bad_request', message);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    if (API_PATHS.some((p) => path === p || path.startsWith(`${p}/`))) {
      return sendWebError(request, reply, 404, 'url_failed', `This endpoint lives on the api origin: ${services.config.apiUrl}${path}`);
    }
    return sendWebError(request, reply, 404, 'url_failed', 'There is no page here.');
  });

  registerAccountRoutes(app, services);
  registerAuthorizeRoutes(app, services);
  registerMetadataRoute(app, services);
  registerDeveloperRoutes(app, services);
  registerConnectedAppsRoutes(app, services);
  registerPinPages(app, services);
}
