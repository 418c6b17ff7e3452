import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  approvalLocation,
  issueAuthorizationCode,
  redirectErrorLocation,
  validateAuthorizeRequest,
  type ValidAuthorizeRequest,
} from '../../oauth/authorize.js';
import type { RawParams } from '../../oauth/params.js';
import type { Services } from '../../services.js';
import { sendWebError } from '../error-page.js';
import { sendPage } from '../render.js';
import { allowFormAction } from '../security-headers.js';
import { requireUser } from '../session.js';

/** Parameters carried from the authorize URL through the consent form, unchanged. */
const CARRIED = ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'app-name', 'app-version', 'scope'] as const;

function carried(params: RawParams): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const name of CARRIED) {
    const v = params[name];
    if (typeof v === 'string') out.push({ name, value: v });
  }
  return out;
}

/**
 * Validates, and answers a failure: an error page before the client and redirect_uri are
 * verified, a redirect to the verified redirect_uri after (reference §4.2, §6.2).
 */
async function validateOrAnswer(services: Services, request: FastifyRequest, reply: FastifyReply, params: RawParams): Promise<ValidAuthorizeRequest | null> {
  const result = await validateAuthorizeRequest(services.storage, params);
  if (result.ok) return result.request;
  const f = result.failure;
  if (f.kind === 'redirect') {
    void reply.redirect(redirectErrorLocation(f), 302);
    return null;
  }
  void sendWebError(request, reply, f.status, f.error, f.message, 'This sign-in link does not work');
  return null;
}

export function registerAuthorizeRoutes(app: FastifyInstance, services: Services): void {
  // GET: check the request, make sure someone is signed in, show consent.
  app.get('/oauth/authorize', async (request, reply) => {
    const params = request.query as RawParams;
    const req = await validateOrAnswer(services, request, reply, params);
    if (!req) return reply;
    const user = requireUser(request, reply);
    if (!user) return reply;
    allowFormAction(reply, req.redirectUri);
    return sendPage(reply, 'consent', {
      title: `Allow ${req.app.name}?`,
      user,
      csrf: reply.generateCsrf(),
      app: req.app,
      request: req,
      fields: carried(params),
    });
  });

  // POST: the consent decision. The same checks run again on the carried parameters.
  app.post('/oauth/authorize', { preHandler: app.csrfProtection }, async (request, reply) => {
    const body = (request.body ?? {}) as RawParams;
    const req = await validateOrAnswer(services, request, reply, body);
    if (!req) return reply;
    // A session that ended while the consent page was open: sign in again, then back to the same consent.
    const returnTo = `/oauth/authorize?${new URLSearchParams(carried(body).map((f): [string, string] => [f.name, f.value])).toString()}`;
    const user = requireUser(request, reply, returnTo);
    if (!user) return reply;
    // §4.2: "No" sends the browser to / on the web origin, never to the client.
    if (body.decision !== 'approve') return reply.redirect('/', 302);
    const code = await issueAuthorizationCode(services.storage, services.clock, req, user.id, {
      userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'].slice(0, 200) : null,
    });
    if (req.redirectUri === null) {
      // §6.4: no registered redirect URI: the code is shown for the user to copy into the app.
      reply.header('cache-control', 'no-store');
      return sendPage(reply, 'code', { title: `Your code for ${req.app.name}`, user, app: req.app, code });
    }
    return reply.redirect(approvalLocation(req.redirectUri, code, req.state), 302);
  });
}
