import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkAppName, checkRedirectUris, createApp, rotateSecret, updateAppSettings } from '../../accounts/apps.js';
import { FieldError } from '../../accounts/users.js';
import type { Services } from '../../services.js';
import type { App, User } from '../../storage/storage.js';
import { formatTime, isoTime } from '../format.js';
import { formField, linesOf } from '../forms.js';
import { sendPage, type PageContext } from '../render.js';
import { requireUser } from '../session.js';
import { redirectToSlash } from '../trailing-slash.js';

/**
 * Developer settings (reference §1, §3.1): register apps, see the client_id, see a
 * client_secret once (at creation or rotation), edit redirect URIs, delete.
 * Apps are addressed by their numeric id (docs/decisions/0040); only the owner sees
 * or changes an app, everyone else gets the same 404 as for an app that does not exist.
 */

const BASE = '/settings/developer';

type Errors = Record<string, string>;

interface AppForm {
  name: string;
  redirectUris: string;
  type: string;
}

/** What the templates show about an app, formatted once here. */
function appView(app: App) {
  return {
    id: app.id,
    name: app.name,
    clientId: app.clientId,
    isPublic: app.secretHash === null,
    typeLabel: app.secretHash === null ? 'Public (no client secret, uses PKCE)' : 'Confidential (has a client secret)',
    redirectUris: app.redirectUris,
    created: formatTime(app.createdAt),
    createdIso: isoTime(app.createdAt),
    updated: formatTime(app.updatedAt),
    updatedIso: isoTime(app.updatedAt),
  };
}

/** Runs each field check on its own so every wrong field gets its message at once. */
function checkForm(form: AppForm, opts: { needsType: boolean; isPublic: boolean }): Errors {
  const errors: Errors = {};
  try {
    checkAppName(form.name);
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    errors.name = err.message;
  }
  if (opts.needsType && form.type !== 'confidential' && form.type !== 'public') {
    errors.type = 'Choose whether the app is confidential or public.';
  }
  try {
    const uris = checkRedirectUris(linesOf(form.redirectUris));
    if (!opts.isPublic && uris.length === 0) errors.redirect_uris = 'A confidential app needs at least one redirect URI.';
  } catch (err) {
    if (!(err instanceof FieldError)) throw err;
    errors.redirect_uris = err.message;
  }
  return errors;
}

function readForm(body: unknown): AppForm {
  return { name: formField(body, 'name'), redirectUris: formField(body, 'redirect_uris'), type: formField(body, 'type') };
}

/** Pages that show a secret must not be kept by the browser or any cache (RFC 9111 §5.2.2.5). */
function noStore(reply: FastifyReply): void {
  reply.header('cache-control', 'no-store');
}

/** Pages of this section mark their nav link as the current page. */
function developerPage(reply: FastifyReply, name: string, data: PageContext, status = 200): FastifyReply {
  return sendPage(reply, name, { ...data, section: 'developer' }, status);
}

export function registerDeveloperRoutes(app: FastifyInstance, services: Services): void {
  const { storage, clock } = services;

  function notFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    return developerPage(
      reply,
      'error',
      { title: 'No such app', user: request.user, status: 404, error: 'app_not_found', message: 'There is no app of yours here. It may have been deleted.' },
      404,
    );
  }

  /** The app named in the URL if the signed-in user owns it; otherwise answers (sign-in redirect or 404) and returns null. */
  async function ownedApp(request: FastifyRequest, reply: FastifyReply): Promise<{ user: User; app: App } | null> {
    const user = requireUser(request, reply);
    if (!user) return null;
    const raw = (request.params as { id?: string }).id ?? '';
    const found = /^[1-9][0-9]{0,14}$/.test(raw) ? await storage.findAppById(Number(raw)) : null;
    if (!found || found.ownerId !== user.id) {
      notFound(request, reply);
      return null;
    }
    return { user, app: found };
  }

  function appPage(reply: FastifyReply, user: User, a: App, extra: { form?: { name: string; redirectUris: string }; errors?: Errors; notice?: string }, status = 200) {
    return developerPage(
      reply,
      'developer-app',
      {
        title: a.name,
        user,
        app: appView(a),
        form: extra.form ?? { name: a.name, redirectUris: a.redirectUris.join('\n') },
        errors: extra.errors ?? {},
        notice: extra.notice ?? null,
      },
      status,
    );
  }

  for (const path of [BASE, `${BASE}/new`, `${BASE}/:id`, `${BASE}/:id/rotate-secret`, `${BASE}/:id/delete`]) redirectToSlash(app, path);

  app.get(`${BASE}/`, async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const apps = (await storage.listAppsByOwner(user.id)).map(appView);
    const deleted = (request.query as Record<string, unknown>).deleted === '1';
    return developerPage(reply, 'developer', { title: 'Developer settings', user, apps, notice: deleted ? 'The app was deleted.' : null });
  });

  app.get(`${BASE}/new/`, async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    return developerPage(reply, 'developer-new', { title: 'Register an app', user, form: { name: '', redirectUris: '', type: 'confidential' }, errors: {} });
  });

  app.post(`${BASE}/new/`, { preHandler: app.csrfProtection }, async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const form = readForm(request.body);
    const errors = checkForm(form, { needsType: true, isPublic: form.type === 'public' });
    if (Object.keys(errors).length > 0) return developerPage(reply, 'developer-new', { title: 'Register an app', user, form, errors }, 400);
    const created = await createApp(storage, clock, {
      ownerId: user.id,
      name: form.name,
      redirectUris: linesOf(form.redirectUris),
      isPublic: form.type === 'public',
    });
    // The secret exists in clear only in this response; storage keeps its hash (§3.1, "shown once").
    noStore(reply);
    return developerPage(
      reply,
      'developer-secret',
      { title: `${created.app.name} is registered`, user, app: appView(created.app), clientSecret: created.clientSecret, rotated: false },
      201,
    );
  });

  app.get(`${BASE}/:id/`, async (request, reply) => {
    const owned = await ownedApp(request, reply);
    if (!owned) return reply;
    const saved = (request.query as Record<string, unknown>).saved === '1';
    return appPage(reply, owned.user, owned.app, { notice: saved ? 'Your changes are saved.' : undefined });
  });

  app.post(`${BASE}/:id/`, { preHandler: app.csrfProtection }, async (request, reply) => {
    const owned = await ownedApp(request, reply);
    if (!owned) return reply;
    const form = readForm(request.body);
    const errors = checkForm(form, { needsType: false, isPublic: owned.app.secretHash === null });
    if (Object.keys(errors).length > 0) return appPage(reply, owned.user, owned.app, { form, errors }, 400);
    await updateAppSettings(storage, clock, owned.app, { name: form.name, redirectUris: linesOf(form.redirectUris) });
    return reply.redirect(`${BASE}/${owned.app.id}/?saved=1`, 303);
  });

  app.post(`${BASE}/:id/rotate-secret/`, { preHandler: app.csrfProtection }, async (request, reply) => {
    const owned = await ownedApp(request, reply);
    if (!owned) return reply;
    if (owned.app.secretHash === null) {
      return developerPage(
        reply,
        'error',
        { title: 'No secret to rotate', user: owned.user, status: 400, error: 'public_app', message: 'A public app has no client secret.' },
        400,
      );
    }
    // The old secret stops working at once; tokens already issued stay valid (src/accounts/apps.ts).
    const secret = await rotateSecret(storage, clock, owned.app);
    noStore(reply);
    return developerPage(reply, 'developer-secret', {
      title: `New client secret for ${owned.app.name}`,
      user: owned.user,
      app: appView(owned.app),
      clientSecret: secret,
      rotated: true,
    });
  });

  app.get(`${BASE}/:id/delete/`, async (request, reply) => {
    const owned = await ownedApp(request, reply);
    if (!owned) return reply;
    return developerPage(reply, 'developer-delete', { title: `Delete ${owned.app.name}?`, user: owned.user, app: appView(owned.app) });
  });

  app.post(`${BASE}/:id/delete/`, { preHandler: app.csrfProtection }, async (request, reply) => {
    const owned = await ownedApp(request, reply);
    if (!owned) return reply;
    // Deleting the app deletes its codes, grants, tokens and PINs with it (Storage.deleteApp).
    await storage.deleteApp(owned.app.id);
    return reply.redirect(`${BASE}/?deleted=1`, 303);
  });
}
