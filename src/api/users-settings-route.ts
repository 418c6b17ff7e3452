import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ProtocolError } from '../oauth/errors.js';
import type { Services } from '../services.js';
import type { User } from '../storage/storage.js';
import { requireUserToken } from './resource-auth.js';

/** §9.3: the settings shape, filled from the account. */
export function settingsBody(user: User): unknown {
  return {
    user: {
      name: user.displayName || user.username,
      joined_at: new Date(user.createdAt).toISOString(),
      gender: user.gender,
      avatar: user.avatar,
      bio: user.bio,
      loc: user.loc,
      age: user.age,
    },
    account: { id: user.id, timezone: user.timezone, type: user.accountType },
  };
}

/**
 * GET and POST /users/settings (§9.3). Real clients POST with no body, with `{}`, and
 * with an empty body under Content-Type: application/json; all three are accepted.
 */
export function registerUsersSettingsRoute(app: FastifyInstance, services: Services): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    const lookup = await requireUserToken(services, request, reply);
    const user = await services.storage.findUserById(lookup.userId);
    if (!user) throw new ProtocolError('user_token_failed');
    return settingsBody(user);
  };
  app.get('/users/settings', handler);
  app.post('/users/settings', handler);
}
