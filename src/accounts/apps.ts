import { checkRegistrableRedirectUri } from '../oauth/redirect-uri.js';
import { newClientId, newClientSecret } from '../oauth/tokens.js';
import type { App, Storage } from '../storage/storage.js';
import type { Clock } from '../util/clock.js';
import { sha256Hex } from '../util/crypto.js';
import { FieldError } from './users.js';

export const MAX_REDIRECT_URIS = 20;

/** Checks each URI; duplicates are dropped, order kept. */
export function checkRedirectUris(uris: readonly string[]): string[] {
  const out: string[] = [];
  for (const uri of uris) {
    const problem = checkRegistrableRedirectUri(uri);
    if (problem) throw new FieldError('redirect_uris', `${uri.slice(0, 100)} ${problem}.`);
    if (!out.includes(uri)) out.push(uri);
  }
  if (out.length > MAX_REDIRECT_URIS) throw new FieldError('redirect_uris', `Register at most ${MAX_REDIRECT_URIS} redirect URIs.`);
  return out;
}

export function checkAppName(name: string): string {
  const n = name.trim();
  if (n.length < 1 || n.length > 80) throw new FieldError('name', 'Give the app a name of 1 to 80 characters.');
  return n;
}

/** Creates an app. The client secret (confidential apps) is returned once and stored only as a hash. */
export async function createApp(
  storage: Storage,
  clock: Clock,
  input: { ownerId: number; name: string; redirectUris: readonly string[]; isPublic: boolean },
): Promise<{ app: App; clientSecret: string | null }> {
  const name = checkAppName(input.name);
  const redirectUris = checkRedirectUris(input.redirectUris);
  if (!input.isPublic && redirectUris.length === 0) {
    throw new FieldError('redirect_uris', 'A confidential app needs at least one redirect URI.');
  }
  const clientSecret = input.isPublic ? null : newClientSecret();
  const app = await storage.createApp({
    clientId: newClientId(),
    ownerId: input.ownerId,
    name,
    redirectUris,
    secretHash: clientSecret === null ? null : sha256Hex(clientSecret),
    createdAt: clock.now(),
  });
  return { app, clientSecret };
}

/** Rotates a confidential app's secret: the old one stops working at once; issued tokens stay (docs/decisions/0006). */
export async function rotateSecret(storage: Storage, clock: Clock, app: App): Promise<string> {
  if (app.secretHash === null) throw new FieldError('secret', 'A public app has no client secret.');
  const secret = newClientSecret();
  await storage.updateAppSecretHash(app.id, sha256Hex(secret), clock.now());
  return secret;
}

/**
 * Changes an app's name and redirect URIs with the same rules as creation. A removed
 * redirect URI stops being accepted by authorize at once (§4.1 exact matching).
 */
export async function updateAppSettings(
  storage: Storage,
  clock: Clock,
  app: App,
  input: { name: string; redirectUris: readonly string[] },
): Promise<{ name: string; redirectUris: string[] }> {
  const name = checkAppName(input.name);
  const redirectUris = checkRedirectUris(input.redirectUris);
  if (app.secretHash !== null && redirectUris.length === 0) {
    throw new FieldError('redirect_uris', 'A confidential app needs at least one redirect URI.');
  }
  const now = clock.now();
  if (name !== app.name) await storage.updateAppName(app.id, name, now);
  await storage.updateAppRedirectUris(app.id, redirectUris, now);
  return { name, redirectUris };
}
