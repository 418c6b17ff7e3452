import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Services } from '../../services.js';
import { formatTime, isoTime } from '../format.js';
import { dialectLabel, flowText, permissionText } from '../grant-labels.js';
import { sendPage, type PageContext } from '../render.js';
import { requireUser } from '../session.js';
import { redirectToSlash } from '../trailing-slash.js';

const BASE = '/settings/connected-apps';

/**
 * Connected Apps (reference §8): every app the user allowed, with its label, permission,
 * when it was authorized, how much it was used and what it said about itself; revoking
 * is the only way a V1 token ends, and it ends at once (the next API call gets 401).
 */
/** Pages of this section mark their nav link as the current page. */
function connectedAppsPage(reply: FastifyReply, name: string, data: PageContext, status = 200): FastifyReply {
  return sendPage(reply, name, { ...data, section: 'connected-apps' }, status);
}

export function registerConnectedAppsRoutes(app: FastifyInstance, services: Services): void {
  const { storage, clock } = services;

  redirectToSlash(app, BASE);
  redirectToSlash(app, `${BASE}/:grantId/revoke`);

  app.get(`${BASE}/`, async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    // Counts are batched in memory for a second (src/usage-recorder.ts); write them out so the page is current.
    await services.usage.flush().catch(() => undefined);
    const apps = (await storage.listConnectedApps(user.id)).map(({ grant, appName, ownerName }) => ({
      grantId: grant.id,
      appName,
      ownerName,
      label: dialectLabel(grant),
      permission: permissionText(grant),
      flow: flowText(grant.flow),
      firstAuthorized: formatTime(grant.createdAt),
      firstAuthorizedIso: isoTime(grant.createdAt),
      lastAuthorized: formatTime(grant.authorizedAt),
      lastAuthorizedIso: isoTime(grant.authorizedAt),
      requestCount: grant.requestCount,
      lastUsed: formatTime(grant.lastUsedAt),
      lastUsedIso: grant.lastUsedAt === null ? null : isoTime(grant.lastUsedAt),
      sentAppName: grant.appName,
      sentAppVersion: grant.appVersion,
      sentUserAgent: grant.userAgent,
    }));
    const revoked = (request.query as Record<string, unknown>).revoked;
    const notice = typeof revoked === 'string' && revoked.length > 0 ? await revokedNotice(revoked, user.id) : null;
    return connectedAppsPage(reply, 'connected-apps', { title: 'Connected Apps', user, apps, notice });
  });

  /** "You revoked X": the name comes from the database, not from the URL, so the page cannot be made to say anything else. */
  async function revokedNotice(grantIdText: string, userId: number): Promise<string | null> {
    if (!/^[1-9][0-9]{0,14}$/.test(grantIdText)) return null;
    const grant = await storage.findGrantById(Number(grantIdText));
    if (!grant || grant.userId !== userId || grant.revokedAt === null) return null;
    const a = await storage.findAppById(grant.appId);
    return `${a ? a.name : 'The app'} can no longer use your account.`;
  }

  app.post(`${BASE}/:grantId/revoke/`, { preHandler: app.csrfProtection }, async (request, reply) => {
    const user = requireUser(request, reply);
    if (!user) return reply;
    const raw = (request.params as { grantId: string }).grantId;
    // revokeGrant matches on the user too, so nobody can revoke someone else's grant.
    const done = /^[1-9][0-9]{0,14}$/.test(raw) ? await storage.revokeGrant(Number(raw), user.id, clock.now()) : false;
    if (!done) {
      return connectedAppsPage(
        reply,
        'error',
        { title: 'Nothing to revoke', user, status: 404, error: 'grant_not_found', message: 'This app is not connected to your account (it may already be revoked).' },
        404,
      );
    }
    return reply.redirect(`${BASE}/?revoked=${raw}`, 303);
  });
}
