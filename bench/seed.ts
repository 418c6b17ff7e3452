/**
 * What the scenarios need in the database, written through the Storage interface on a
 * second connection to the same database the server uses (as a second instance would).
 */
import { createApp } from '../src/accounts/apps.js';
import { createUser } from '../src/accounts/users.js';
import { issueV1Token } from '../src/oauth/grants/v1-token.js';
import { AUTH_CODE_LIFETIME_MS, newAuthCode } from '../src/oauth/tokens.js';
import type { Storage } from '../src/storage/storage.js';
import { systemClock } from '../src/util/clock.js';
import { sha256Hex } from '../src/util/crypto.js';
import { BENCH_SECRET } from './keyfob-process.js';

export const REDIRECT_URI = 'http://127.0.0.1:8765/callback';

/** Storage calls in flight at once when seeding in bulk: SQLite runs them one by one anyway; PostgreSQL overlaps round trips. */
const SEED_CONCURRENCY = 32;

/** Runs `fn` over `items`, at most SEED_CONCURRENCY at a time; results in order. */
export async function inChunks<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += SEED_CONCURRENCY) out.push(...(await Promise.all(items.slice(i, i + SEED_CONCURRENCY).map(fn))));
  return out;
}

export interface BenchFixture {
  username: string;
  password: string;
  userId: number;
  clientId: string;
  clientSecret: string;
  appId: number;
  /** A live V1 token of the user for the app. */
  token: string;
}

export async function seedFixture(storage: Storage): Promise<BenchFixture> {
  const username = 'bench_user';
  const password = 'bench correct horse battery';
  const user = await createUser(storage, systemClock, { username, password });
  const { app, clientSecret } = await createApp(storage, systemClock, { ownerId: user.id, name: 'Bench App', redirectUris: [REDIRECT_URI], isPublic: false });
  const { token } = await issueV1Token(
    { storage, clock: systemClock, secret: BENCH_SECRET },
    { userId: user.id, appId: app.id, flow: 'code', meta: { appName: 'bench', appVersion: '1.0', userAgent: null } },
  );
  return { username, password, userId: user.id, clientId: app.clientId, clientSecret: clientSecret!, appId: app.id, token };
}

/** Stores `n` fresh authorization codes for the fixture's user and app; returns the raw codes. */
export async function mintAuthCodes(storage: Storage, f: BenchFixture, n: number): Promise<string[]> {
  const now = systemClock.now();
  const codes = Array.from({ length: n }, () => newAuthCode());
  await inChunks(codes, (code) =>
    storage.saveAuthCode({
      codeHash: sha256Hex(code),
      appId: f.appId,
      userId: f.userId,
      redirectUri: REDIRECT_URI,
      codeChallenge: null,
      codeChallengeMethod: null,
      appName: 'bench',
      appVersion: '1.0',
      userAgent: null,
      createdAt: now,
      expiresAt: now + AUTH_CODE_LIFETIME_MS,
    }),
  );
  return codes;
}

/** §7.1: a pending PIN lives 900 s. */
const PIN_LIFETIME_MS = 900_000;

/** Stores pending PINs (not approved, never polled) for the app; returns how many were new. */
export async function createPendingPins(storage: Storage, appId: number, userCodes: readonly string[]): Promise<number> {
  const now = systemClock.now();
  const results = await inChunks(userCodes, (userCode) =>
    storage.createPin({
      userCode,
      appId,
      redirect: null,
      appName: 'bench',
      appVersion: '1.0',
      userAgent: null,
      createdIp: '127.0.0.1',
      createdAt: now,
      expiresAt: now + PIN_LIFETIME_MS,
      grantId: null,
      failedAttempts: 0,
      lastPolledAt: null,
    }),
  );
  return results.filter(Boolean).length;
}
