import { createApp } from './accounts/apps.js';
import { createUser } from './accounts/users.js';
import type { Config } from './config/config.js';
import type { Storage } from './storage/storage.js';
import type { Clock } from './util/clock.js';

export const DEMO_USERNAME = 'demo';
export const DEMO_PASSWORD = 'demo-password';
export const DEMO_REDIRECT_URI = 'http://127.0.0.1:8765/callback';

export interface DemoSeed {
  username: string;
  password: string;
  confidential: { clientId: string; clientSecret: string; redirectUri: string };
  public: { clientId: string; redirectUri: string };
  authorizeUrl: string;
}

/**
 * First start with an empty database: a demo user and two demo apps (one confidential,
 * one public), so a client developer can try a flow at once. Returns null when the
 * database already has users.
 */
export async function seedDemo(storage: Storage, clock: Clock, config: Pick<Config, 'webUrl'>): Promise<DemoSeed | null> {
  if ((await storage.countUsers()) > 0) return null;
  const user = await createUser(storage, clock, { username: DEMO_USERNAME, password: DEMO_PASSWORD });
  const conf = await createApp(storage, clock, { ownerId: user.id, name: 'Demo Confidential App', redirectUris: [DEMO_REDIRECT_URI], isPublic: false });
  const pub = await createApp(storage, clock, { ownerId: user.id, name: 'Demo Public App', redirectUris: [DEMO_REDIRECT_URI], isPublic: true });
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: conf.app.clientId,
    redirect_uri: DEMO_REDIRECT_URI,
    state: 'demo-state',
    'app-name': 'demo',
    'app-version': '1.0',
  });
  return {
    username: DEMO_USERNAME,
    password: DEMO_PASSWORD,
    confidential: { clientId: conf.app.clientId, clientSecret: conf.clientSecret!, redirectUri: DEMO_REDIRECT_URI },
    public: { clientId: pub.app.clientId, redirectUri: DEMO_REDIRECT_URI },
    authorizeUrl: `${config.webUrl}/oauth/authorize?${q.toString()}`,
  };
}

export function describeDemo(seed: DemoSeed): string {
  return [
    'Created a demo account and two demo apps (shown once; the secret is stored only as a hash):',
    `  user:              ${seed.username} / ${seed.password}`,
    `  confidential app:  client_id=${seed.confidential.clientId}`,
    `                     client_secret=${seed.confidential.clientSecret}`,
    `  public app (PKCE): client_id=${seed.public.clientId}`,
    `  redirect URI:      ${seed.confidential.redirectUri}`,
    `  try it:            ${seed.authorizeUrl}`,
    '                     (nothing listens on the redirect URI: after "Yes, allow" the code is in the address bar)',
  ].join('\n');
}
