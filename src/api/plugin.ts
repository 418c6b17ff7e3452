import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { ProtocolError } from '../oauth/errors.js';
import type { Services } from '../services.js';
import { requestArrived } from '../util/poll-phase.js';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_MAX_AGE_S, setCorsHeaders } from './cors.js';
import { apiErrorHandler, realmOf, sendProtocolError } from './envelope.js';
import { registerPinRoutes } from './pin-routes.js';
import { registerTokenRoute } from './token-route.js';
import { registerUsersSettingsRoute } from './users-settings-route.js';

/** Paths that live on the web origin; asking the api origin for them gets a 404 naming the right place. */
const WEB_PATHS = ['/oauth/authorize', '/pin', '/signin', '/signup', '/settings', '/.well-known/oauth-authorization-server'];

/**
 * The api origin (the `api.simkl.com` role): JSON only, every error in the reference's
 * envelope. Other route files register themselves through registerApiRoutes hooks below.
 * `ownLogger` false: the Fastify instance has no logger, so failed requests are logged
 * through `services.log`.
 */
export async function registerApi(app: FastifyInstance, services: Services, opts: { ownLogger: boolean } = { ownLogger: true }): Promise<void> {
  const realm = realmOf(services.config.apiUrl);

  // Only the two content types of §5.1; anything else is 415 in the envelope.
  app.removeContentTypeParser('text/plain');
  // JSON: an empty body is an empty object (real clients POST /users/settings that way).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ProtocolError('wrong_parameter', 'The JSON body could not be parsed'), undefined);
    }
  });
  await app.register(formbody, { bodyLimit: 16 * 1024 });

  // A callback hook, not an async one: it runs on every api call, and an async hook costs a promise each time.
  app.addHook('onRequest', (request, reply, done) => {
    // Lets the SQLite read cache probe for other instances' commits once per poll phase (decision 0084).
    requestArrived();
    // §2.3: CORS from any origin, Authorization allowed, these headers exposed, preflight 204 cached a day.
    setCorsHeaders(reply);
    if (request.method === 'OPTIONS') {
      reply
        .header('access-control-allow-methods', CORS_ALLOW_METHODS)
        .header('access-control-allow-headers', CORS_ALLOW_HEADERS)
        .header('access-control-max-age', String(CORS_MAX_AGE_S))
        .code(204)
        .send();
      return;
    }
    done();
  });

  app.setErrorHandler(apiErrorHandler(realm, opts.ownLogger ? undefined : () => services.log));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    if (WEB_PATHS.some((p) => path === p || path.startsWith(`${p}/`))) {
      return sendProtocolError(reply, new ProtocolError('url_failed', `This page lives on the web origin: ${services.config.webUrl}${path}`), realm);
    }
    return sendProtocolError(reply, new ProtocolError('url_failed', `No such endpoint: ${request.method} ${path}`), realm);
  });

  registerTokenRoute(app, services);
  registerUsersSettingsRoute(app, services);
  registerPinRoutes(app, services);
}
