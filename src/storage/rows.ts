/**
 * Rows to records, shared by the SQLite and PostgreSQL implementations: both use the same
 * column names (their 001_initial.sql files mirror each other), and numbers arrive as
 * numbers (SQLite) or strings (PostgreSQL BIGINT), so every field is converted here.
 */
import type { App, AuthCode, CodeConsumption, Grant, Pin, TokenLookup, User } from './storage.js';

export type Row = Record<string, unknown>;

export const str = (v: unknown): string => String(v);
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const num = (v: unknown): number => Number(v);
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** Selecting an app always joins its owner's name (consent pages show it). */
export const APP_SELECT = `SELECT a.*, u.username AS owner_name FROM apps a JOIN users u ON u.id = a.owner_id`;

/** A bearer-token lookup's row (access_tokens joined with grants and apps), on either database. */
export function rowToTokenLookup(r: Row): TokenLookup {
  return {
    grantId: num(r.grant_id),
    userId: num(r.user_id),
    appId: num(r.app_id),
    clientId: str(r.client_id),
    dialect: str(r.dialect) as TokenLookup['dialect'],
    scope: str(r.scope),
    expiresAt: num(r.expires_at),
  };
}

export function rowToUser(r: Row): User {
  return {
    id: num(r.id),
    username: str(r.username),
    passwordHash: str(r.password_hash),
    displayName: str(r.display_name),
    timezone: str(r.timezone),
    accountType: str(r.account_type) as User['accountType'],
    gender: str(r.gender),
    avatar: str(r.avatar),
    bio: str(r.bio),
    loc: str(r.loc),
    age: str(r.age),
    createdAt: num(r.created_at),
  };
}

export function rowToApp(r: Row): App {
  return {
    id: num(r.id),
    clientId: str(r.client_id),
    ownerId: num(r.owner_id),
    ownerName: str(r.owner_name),
    name: str(r.name),
    redirectUris: JSON.parse(str(r.redirect_uris)) as string[],
    secretHash: strOrNull(r.secret_hash),
    dialect: str(r.dialect) as App['dialect'],
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function rowToAuthCode(r: Row): AuthCode {
  return {
    codeHash: str(r.code_hash),
    appId: num(r.app_id),
    userId: num(r.user_id),
    redirectUri: strOrNull(r.redirect_uri),
    codeChallenge: strOrNull(r.code_challenge),
    codeChallengeMethod: strOrNull(r.code_challenge_method) as AuthCode['codeChallengeMethod'],
    appName: strOrNull(r.app_name),
    appVersion: strOrNull(r.app_version),
    userAgent: strOrNull(r.user_agent),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

/**
 * The columns a code exchange reads, as an array (decision 0087): better-sqlite3 builds a
 * row object key by key, which costs more than the lookup of a fresh code. The row id
 * lets the consumption write the row without a second lookup by hash.
 */
export const FRESH_CODE_COLUMNS =
  'rowid, consumed_at, app_id, user_id, redirect_uri, code_challenge, code_challenge_method, app_name, app_version, user_agent, created_at, expires_at';

/** An auth code from a FRESH_CODE_COLUMNS array. */
export function freshCodeOf(codeHash: string, r: readonly unknown[]): AuthCode {
  return {
    codeHash,
    appId: num(r[2]),
    userId: num(r[3]),
    redirectUri: strOrNull(r[4]),
    codeChallenge: strOrNull(r[5]),
    codeChallengeMethod: strOrNull(r[6]) as AuthCode['codeChallengeMethod'],
    appName: strOrNull(r[7]),
    appVersion: strOrNull(r[8]),
    userAgent: strOrNull(r[9]),
    createdAt: num(r[10]),
    expiresAt: num(r[11]),
  };
}

export function rowToGrant(r: Row): Grant {
  return {
    id: num(r.id),
    userId: num(r.user_id),
    appId: num(r.app_id),
    dialect: str(r.dialect) as Grant['dialect'],
    scope: str(r.scope),
    tokenSeed: str(r.token_seed),
    flow: str(r.flow) as Grant['flow'],
    appName: strOrNull(r.app_name),
    appVersion: strOrNull(r.app_version),
    userAgent: strOrNull(r.user_agent),
    createdAt: num(r.created_at),
    authorizedAt: num(r.authorized_at),
    revokedAt: numOrNull(r.revoked_at),
    requestCount: num(r.request_count),
    lastUsedAt: numOrNull(r.last_used_at),
  };
}

export function rowToPin(r: Row): Pin {
  return {
    userCode: str(r.user_code),
    appId: num(r.app_id),
    redirect: strOrNull(r.redirect),
    appName: strOrNull(r.app_name),
    appVersion: strOrNull(r.app_version),
    userAgent: strOrNull(r.user_agent),
    createdIp: strOrNull(r.created_ip),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    grantId: numOrNull(r.grant_id),
    failedAttempts: num(r.failed_attempts),
    lastPolledAt: numOrNull(r.last_polled_at),
  };
}

/** A row found after the conditional UPDATE matched nothing: a tombstone, or nothing at all. */
export function tombstoneOf(r: Row | undefined | null): CodeConsumption {
  if (!r || r.consumed_at === null || r.consumed_at === undefined) return { kind: 'unknown' };
  return {
    kind: 'replayed',
    code: rowToAuthCode(r),
    consumedAt: num(r.consumed_at),
    grantId: numOrNull(r.grant_id),
    grantCreated: r.grant_created === true || num(r.grant_created) === 1,
  };
}
