import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { approvePinCode, denyPinCode, enterPinCode, type PinEntry } from '../../oauth/grants/pin.js';
import { normalizeUserCode } from '../../oauth/user-codes.js';
import type { Services } from '../../services.js';
import type { User } from '../../storage/storage.js';
import { sendPage } from '../render.js';
import { allowFormAction } from '../security-headers.js';
import { requireUser } from '../session.js';

function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

/** Form errors for a code that did not lead to a PIN (decision 0030 for the limits). */
const ENTRY_ERRORS: Record<Exclude<PinEntry['kind'], 'found'>, { status: number; message: string }> = {
  format: { status: 400, message: 'A code is 5 letters and digits, like 7KX4M. Check the code on your device and try again.' },
  unknown: { status: 400, message: 'That code does not work. It may be mistyped, already used or expired (codes last 15 minutes). Check your device.' },
  limited: { status: 429, message: 'Too many wrong codes. Wait 15 minutes and try again.' },
};

/**
 * The web origin's /pin page (reference §7.2, verification_uri): enter the code shown on a
 * device, see which app and device asks, approve or deny. /pin/{code} pre-fills the code
 * (clients put that link in QR codes, §7.2). Signing in comes first, so wrong codes count
 * against an account as well as an address.
 */
export function registerPinPages(app: FastifyInstance, services: Services): void {
  const enterPage = (reply: FastifyReply, user: User, code: string, error?: string, status = 200) =>
    sendPage(reply, 'pin-enter', { title: 'Connect a device', user, csrf: reply.generateCsrf(), code, errors: error ? { form: error } : {} }, status);

  /** Posts need a session too; after signing in the person starts again at /pin (the form is gone). */
  const requirePostUser = (request: FastifyRequest, reply: FastifyReply): User | null => {
    if (request.user) return request.user;
    void reply.redirect('/signin?next=%2Fpin', 303);
    return null;
  };

  const answerEntry = async (request: FastifyRequest, reply: FastifyReply, user: User, typed: string) => {
    const entry = await enterPinCode(services, { userId: user.id, ip: request.ip, typed });
    reply.header('cache-control', 'no-store');
    if (entry.kind === 'found') return entry;
    const e = ENTRY_ERRORS[entry.kind];
    if (entry.kind === 'limited') reply.header('retry-after', String(entry.retryAfterS));
    await enterPage(reply, user, typed.slice(0, 16), e.message, e.status);
    return null;
  };

  const showEntry = async (request: FastifyRequest<{ Params: { user_code?: string } }>, reply: FastifyReply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const raw = request.params.user_code ?? '';
    reply.header('cache-control', 'no-store');
    return enterPage(reply, user, normalizeUserCode(raw) ?? raw.slice(0, 16));
  };
  app.get('/pin', showEntry);
  app.get('/pin/', showEntry);
  app.get('/pin/:user_code', showEntry);

  // Step 1: the code -> who asks.
  app.post('/pin', { preHandler: app.csrfProtection }, async (request, reply) => {
    const user = requirePostUser(request, reply);
    if (!user) return reply;
    const entry = await answerEntry(request, reply, user, field(request.body, 'user_code'));
    if (!entry) return reply;
    // After approval the browser may be sent to the PIN's registered redirect (CSP form-action).
    allowFormAction(reply, entry.pin.redirect);
    const minutesLeft = Math.max(1, Math.ceil((entry.pin.expiresAt - services.clock.now()) / 60_000));
    return sendPage(reply, 'pin-confirm', { title: `Connect ${entry.app.name}?`, user, csrf: reply.generateCsrf(), app: entry.app, pin: entry.pin, minutesLeft });
  });

  // Step 2: the decision. The code is checked again under the same limits (this form can be posted directly).
  app.post('/pin/confirm', { preHandler: app.csrfProtection }, async (request, reply) => {
    const user = requirePostUser(request, reply);
    if (!user) return reply;
    const entry = await answerEntry(request, reply, user, field(request.body, 'user_code'));
    if (!entry) return reply;
    if (field(request.body, 'decision') !== 'approve') {
      await denyPinCode(services, entry.pin);
      return sendPage(reply, 'pin-done', { title: 'Not connected', user, csrf: reply.generateCsrf(), app: entry.app, approved: false });
    }
    if (!(await approvePinCode(services, { userId: user.id, pin: entry.pin }))) {
      return enterPage(reply, user, entry.pin.userCode, ENTRY_ERRORS.unknown.message, 409);
    }
    // §7.1: a PIN created with `redirect` sends the browser there after approval, as registered (no parameters added).
    if (entry.pin.redirect) return reply.redirect(entry.pin.redirect, 303);
    return sendPage(reply, 'pin-done', { title: 'You can return to your device', user, csrf: reply.generateCsrf(), app: entry.app, approved: true });
  });
}
