import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { User } from '../storage/storage.js';
import { JsonTexts, sendJsonText } from './json-text.js';
import { requireUserTokenWithUser } from './resource-auth.js';

/**
 * joined_at strings by creation time: formatting a date costs more than the rest of the body,
 * and the same few accounts call again and again. Bounded; starts over when full.
 */
const joinedAtText = new Map<number, string>();

function joinedAt(createdAt: number): string {
  let text = joinedAtText.get(createdAt);
  if (text === undefined) {
    text = new Date(createdAt).toISOString();
    if (joinedAtText.size >= 10_000) joinedAtText.clear();
    joinedAtText.set(createdAt, text);
  }
  return text;
}

/** §9.3: the settings shape, filled from the account. */
export function settingsBody(user: User): unknown {
  return {
    user: {
      name: user.displayName || user.username,
      joined_at: joinedAt(user.createdAt),
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
 * The body's text by user record (decision 0087): only for records the storage caches,
 * which it hands out frozen; records built per call (PostgreSQL) are serialised as usual.
 */
const bodyTexts = new JsonTexts<User>(settingsBody);

/**
 * GET and POST /users/settings (§9.3). Real clients POST with no body, with `{}`, and
 * with an empty body under Content-Type: application/json; all three are accepted.
 */
export function registerUsersSettingsRoute(app: FastifyInstance, services: Services): void {
  // Not async: when the storage answers at once, the body is returned without a promise (decision 0085).
  const handler = (request: FastifyRequest, reply: FastifyReply) => {
    const found = requireUserTokenWithUser(services, request, reply);
    if (found instanceof Promise) return found.then(({ user }) => settingsBody(user));
    const text = bodyTexts.of(found.user);
    return text === undefined ? settingsBody(found.user) : sendJsonText(reply, text);
  };
  // A 200 schema lets Fastify compile a serializer for this body instead of JSON.stringify on every call.
  const schema = { response: { 200: SETTINGS_SCHEMA } };
  app.get('/users/settings', { schema }, handler);
  app.post('/users/settings', { schema }, handler);
}

const text = { type: 'string' } as const;

/** The §9.3 body, field for field and in the same order as settingsBody builds it. */
const SETTINGS_SCHEMA = {
  type: 'object',
  required: ['user', 'account'],
  properties: {
    user: {
      type: 'object',
      required: ['name', 'joined_at', 'gender', 'avatar', 'bio', 'loc', 'age'],
      properties: { name: text, joined_at: text, gender: text, avatar: text, bio: text, loc: text, age: text },
    },
    account: {
      type: 'object',
      required: ['id', 'timezone', 'type'],
      properties: { id: { type: 'integer' }, timezone: text, type: text },
    },
  },
} as const;
