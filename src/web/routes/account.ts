import type { FastifyInstance } from 'fastify';
import { checkPassword, checkUsername, createUser, FieldError, verifyCredentials } from '../../accounts/users.js';
import type { Services } from '../../services.js';
import { formField } from '../forms.js';
import { sendPage } from '../render.js';
import { endSession, safeNext, startSession } from '../session.js';

/** Sign-in guessing limits: per account and per address, in a 15-minute window. */
export const SIGNIN_WINDOW_MS = 15 * 60 * 1000;
export const SIGNIN_MAX_FAILURES_PER_ACCOUNT = 10;
export const SIGNIN_MAX_FAILURES_PER_ADDRESS = 50;

const field = formField;

export function registerAccountRoutes(app: FastifyInstance, services: Services): void {
  const signupEnabled = services.config.signupEnabled;

  app.get('/', async (request, reply) => {
    return sendPage(reply, 'home', { title: 'keyfob', user: request.user, signupEnabled, csrf: reply.generateCsrf() });
  });

  app.get('/signin', async (request, reply) => {
    const next = safeNext((request.query as Record<string, unknown>).next);
    if (request.user) return reply.redirect(next, 303);
    return sendPage(reply, 'signin', { title: 'Sign in', user: null, csrf: reply.generateCsrf(), next, signupEnabled, username: '', errors: {} });
  });

  app.post('/signin', { preHandler: app.csrfProtection }, async (request, reply) => {
    const username = field(request.body, 'username').trim();
    const password = field(request.body, 'password');
    const next = safeNext(field(request.body, 'next'));
    const accountKey = `signin:user:${username.toLowerCase()}`;
    const addressKey = `signin:ip:${request.ip}`;
    const [byAccount, byAddress] = await Promise.all([
      services.limiter.peek(accountKey, SIGNIN_WINDOW_MS),
      services.limiter.peek(addressKey, SIGNIN_WINDOW_MS),
    ]);
    const page = (status: number, errors: Record<string, string>) =>
      sendPage(reply, 'signin', { title: 'Sign in', user: null, csrf: reply.generateCsrf(), next, signupEnabled, username, errors }, status);
    if (byAccount >= SIGNIN_MAX_FAILURES_PER_ACCOUNT || byAddress >= SIGNIN_MAX_FAILURES_PER_ADDRESS) {
      reply.header('retry-after', String(SIGNIN_WINDOW_MS / 1000));
      return page(429, { form: 'Too many failed sign-in attempts. Wait 15 minutes and try again.' });
    }
    // Empty fields are a typing slip, not a guess: say so next to the field and count nothing.
    const missing: Record<string, string> = {};
    if (!username) missing.username = 'Enter your username.';
    if (!password) missing.password = 'Enter your password.';
    if (Object.keys(missing).length > 0) return page(400, missing);
    const user = await verifyCredentials(services.storage, username, password);
    if (!user) {
      await Promise.all([services.limiter.hit(accountKey, Infinity, SIGNIN_WINDOW_MS), services.limiter.hit(addressKey, Infinity, SIGNIN_WINDOW_MS)]);
      return page(401, { password: 'That username and password do not match.' });
    }
    await services.limiter.reset(accountKey);
    // A fresh session id at every sign-in (no fixation); a session this browser already had ends here.
    await endSession(services, request, reply);
    await startSession(services, reply, user.id);
    return reply.redirect(next, 303);
  });

  app.get('/signup', async (request, reply) => {
    const next = safeNext((request.query as Record<string, unknown>).next);
    if (!signupEnabled) return sendPage(reply, 'error', { title: 'Sign-up is closed', user: request.user, status: 403, error: 'signup_closed', message: 'This server does not accept new accounts.' }, 403);
    if (request.user) return reply.redirect(next, 303);
    return sendPage(reply, 'signup', { title: 'Create an account', user: request.user, csrf: reply.generateCsrf(), next, username: '', errors: {} });
  });

  app.post('/signup', { preHandler: app.csrfProtection }, async (request, reply) => {
    if (!signupEnabled) return sendPage(reply, 'error', { title: 'Sign-up is closed', user: request.user, status: 403, error: 'signup_closed', message: 'This server does not accept new accounts.' }, 403);
    const username = field(request.body, 'username').trim();
    const password = field(request.body, 'password');
    const confirm = field(request.body, 'password_confirm');
    const next = safeNext(field(request.body, 'next'));
    const page = (status: number, errors: Record<string, string>) =>
      sendPage(reply, 'signup', { title: 'Create an account', user: null, csrf: reply.generateCsrf(), next, username, errors }, status);
    const rate = await services.limiter.hit(`signup:ip:${request.ip}`, 20, 3600 * 1000);
    if (!rate.allowed) return page(429, { form: 'Too many accounts created from this address. Try again later.' });
    // Every field is checked before answering, so each problem shows next to its field at once.
    const errors: Record<string, string> = {};
    for (const check of [() => checkUsername(username), () => checkPassword(password)]) {
      try {
        check();
      } catch (err) {
        if (!(err instanceof FieldError)) throw err;
        errors[err.field] = err.message;
      }
    }
    if (password !== confirm) errors.password_confirm = 'The two passwords differ.';
    if (Object.keys(errors).length > 0) return page(400, errors);
    try {
      const user = await createUser(services.storage, services.clock, { username, password });
      await endSession(services, request, reply);
      await startSession(services, reply, user.id);
      return reply.redirect(next, 303);
    } catch (err) {
      if (err instanceof FieldError) return page(err.field === 'username' && /taken/.test(err.message) ? 409 : 400, { [err.field]: err.message });
      throw err;
    }
  });

  app.post('/signout', { preHandler: app.csrfProtection }, async (request, reply) => {
    await endSession(services, request, reply);
    return reply.redirect('/', 303);
  });
}
