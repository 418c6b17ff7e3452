/**
 * The only persistence interface keyfob has. Protocol code (src/oauth) and the two
 * origins (src/api, src/web) talk to state through this and nothing else, so SQLite
 * and PostgreSQL implement the same contract (test/storage/contract.ts runs against both).
 *
 * Rules every implementation keeps:
 * - Storage stores; it decides no policy (redirect matching, PKCE, token format live in src/oauth).
 * - Secrets arrive already hashed (`*_hash` fields); raw codes, tokens and secrets never reach storage.
 * - Methods named consume* are single-use and atomic: of any number of concurrent
 *   callers, across processes, exactly one receives the record and the rest receive null
 *   (a conditional DELETE ... RETURNING, never read-then-delete). consumeAuthCode keeps a
 *   tombstone instead (a conditional UPDATE ... RETURNING), so the losers learn "replayed".
 *   A read followed by a write is as good only inside a transaction that took the write
 *   lock before reading (SQLite's BEGIN IMMEDIATE, as the group commit does).
 * - Times are milliseconds since the epoch (numbers), supplied by the caller's clock.
 * - Errors from the database other than "not found" are thrown as StorageUnavailableError
 *   when the database cannot be reached, so the origins can answer 503.
 */

import type { MaybePromise } from '../util/maybe-promise.js';

export type Dialect = 'v1' | 'v2';

export interface User {
  id: number;
  username: string;
  passwordHash: string;
  displayName: string;
  timezone: string;
  accountType: 'free' | 'pro' | 'vip';
  gender: string;
  avatar: string;
  bio: string;
  loc: string;
  age: string;
  createdAt: number;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  displayName?: string;
  timezone?: string;
  createdAt: number;
}

export interface App {
  id: number;
  clientId: string;
  ownerId: number;
  /** Owner's username, joined in for consent pages. */
  ownerName: string;
  name: string;
  /** Registered redirect URIs, compared byte for byte. May be empty (PKCE no-redirect mode, §6.4). */
  redirectUris: string[];
  /** SHA-256 of the client secret; null for a public app. */
  secretHash: string | null;
  dialect: Dialect;
  createdAt: number;
  updatedAt: number;
}

export interface NewApp {
  clientId: string;
  ownerId: number;
  name: string;
  redirectUris: string[];
  secretHash: string | null;
  dialect?: Dialect;
  createdAt: number;
}

/** Who asked, as the client said (reference §2): recorded for Connected Apps. */
export interface ClientMeta {
  appName: string | null;
  appVersion: string | null;
  userAgent: string | null;
}

export interface AuthCode extends ClientMeta {
  codeHash: string;
  appId: number;
  userId: number;
  /** redirect_uri exactly as sent to authorize; null when omitted (no-redirect mode). */
  redirectUri: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: 'S256' | 'plain' | null;
  createdAt: number;
  expiresAt: number;
}

/**
 * What consuming an authorization code found (RFC 6749 §4.1.2, docs/decisions/0070):
 * - fresh: this caller is the one and only consumer;
 * - replayed: the code was consumed before (at consumedAt); grantId is the grant its first
 *   exchange produced (null if that exchange failed or is still running), grantCreated
 *   whether that exchange created the grant rather than re-issuing a live one;
 * - unknown: no such code (never issued, or expired and swept).
 */
export type CodeConsumption =
  | { kind: 'fresh'; code: AuthCode }
  | { kind: 'replayed'; code: AuthCode; consumedAt: number; grantId: number | null; grantCreated: boolean }
  | { kind: 'unknown' };

/** How a grant was last authorized. */
export type Flow = 'code' | 'pkce' | 'pin' | 'device';

/**
 * A user's permission for an app. V1 keeps at most one live grant per (user, app)
 * (the same-token rule, §5.4); the V1 access token is derived from tokenSeed and the
 * server secret, so it can be re-issued without being stored. V2 grants (later) sit
 * beside V1 grants for the same app with their own tokens.
 */
export interface Grant extends ClientMeta {
  id: number;
  userId: number;
  appId: number;
  dialect: Dialect;
  scope: string;
  tokenSeed: string;
  flow: Flow;
  createdAt: number;
  authorizedAt: number;
  revokedAt: number | null;
  requestCount: number;
  lastUsedAt: number | null;
}

/** A new V1 token's seed and the SHA-256 of the token derived from it (stored in access_tokens for lookup). */
export interface MintedToken {
  tokenSeed: string;
  tokenHash: string;
}

export interface V1GrantRequest extends ClientMeta {
  userId: number;
  appId: number;
  flow: Flow;
  /**
   * Makes the token of a grant this upsert creates: a live grant keeps its own, so a
   * storage that can tell calls it only when it inserts (SQLite). Called at most once per
   * upsert; one that cannot tell before writing calls it up front (PostgreSQL's
   * INSERT ... ON CONFLICT) and the seed is then kept only if the grant is created.
   */
  mintToken: () => MintedToken;
  now: number;
  tokenExpiresAt: number;
  /**
   * The consumed authorization code this grant is issued for, if any: its tombstone then
   * records the grant (`grant_id`, `grant_created`) in the same transaction (decision 0082).
   */
  authCodeHash?: string;
}

/** The V1 grant a code exchange issued: enough to hand out its token. */
export interface IssuedV1Grant {
  grantId: number;
  tokenSeed: string;
  /** Whether this exchange created the grant (its token is the one just minted) rather than refreshing a live one. */
  created: boolean;
}

/**
 * Decides, from what consuming a code found, which grant to issue for it: protocol code
 * (the client, code, redirect_uri and PKCE checks), synchronous. Returns the request, or
 * null to issue nothing; a grant is issued only for a fresh code. A throw is the
 * exchange's answer: the code stays consumed (§5.4) and the error reaches the caller.
 */
export type CodeGrantDecision = (consumption: CodeConsumption) => Omit<V1GrantRequest, 'authCodeHash'> | null;

/** What redeeming a code did: what its consumption found, and the grant issued for it, if any. */
export interface CodeRedemption {
  consumption: CodeConsumption;
  issued: IssuedV1Grant | null;
}

/** What a bearer-token lookup returns: enough to authorize an API call in one query. */
export interface TokenLookup {
  grantId: number;
  userId: number;
  appId: number;
  clientId: string;
  dialect: Dialect;
  scope: string;
  expiresAt: number;
}

/** One row of the Connected Apps page. */
export interface ConnectedApp {
  grant: Grant;
  appName: string;
  clientId: string;
  ownerName: string;
}

export interface Pin extends ClientMeta {
  /** Normalised user code (upper case, no separators). */
  userCode: string;
  appId: number;
  /** PIN `redirect` parameter, already checked against the app's URIs. */
  redirect: string | null;
  createdAt: number;
  expiresAt: number;
  /** Set once a user approves; the device collects the token derived from this grant. */
  grantId: number | null;
  failedAttempts: number;
  lastPolledAt: number | null;
  createdIp: string | null;
}

/**
 * What a poll decides on (§7.2): the PIN's row narrowed to four columns, and `answeredAt`,
 * which is no column: when this process last answered a poll of the code (noted by
 * notePinAnswered, kept in memory only, -Infinity when none is kept; decisions 0080, 0095).
 */
export interface PinPollState extends Pick<Pin, 'userCode' | 'appId' | 'expiresAt' | 'grantId' | 'lastPolledAt'> {
  answeredAt: number;
}

export interface Session {
  idHash: string;
  userId: number;
  createdAt: number;
  expiresAt: number;
}

export interface CleanupCounts {
  authCodes: number;
  pins: number;
  sessions: number;
}

export interface Storage {
  readonly kind: 'sqlite' | 'postgres';

  /** Applies pending numbered migrations; safe when several processes call it at once. Returns versions applied. */
  migrate(): Promise<number[]>;
  close(): Promise<void>;
  /** Cheap liveness probe. */
  ping(): Promise<void>;

  // --- users
  createUser(user: NewUser): Promise<User>;
  findUserById(id: number): Promise<User | null>;
  /** Case-insensitive. */
  findUserByUsername(username: string): Promise<User | null>;
  countUsers(): Promise<number>;

  // --- apps
  createApp(app: NewApp): Promise<App>;
  /** May answer at once (SQLite) so the PIN poll and token paths need no promise (decision 0085). */
  findAppByClientId(clientId: string): MaybePromise<App | null>;
  findAppById(id: number): Promise<App | null>;
  listApps(): Promise<App[]>;
  listAppsByOwner(ownerId: number): Promise<App[]>;
  updateAppRedirectUris(appId: number, redirectUris: string[], now: number): Promise<void>;
  updateAppSecretHash(appId: number, secretHash: string, now: number): Promise<void>;
  updateAppName(appId: number, name: string, now: number): Promise<void>;
  /** Deletes the app and, with it, its codes, grants, tokens and PINs. */
  deleteApp(appId: number): Promise<void>;

  // --- authorization codes
  saveAuthCode(code: AuthCode): Promise<void>;
  /**
   * Atomic single use: marks the code consumed at `now` (one conditional UPDATE ... RETURNING;
   * of concurrent callers across processes exactly one gets `fresh`) and keeps it as a
   * tombstone until it expires, so a later call answers `replayed`. Expired codes are
   * returned too; the caller checks expiry.
   */
  consumeAuthCode(codeHash: string, now: number): Promise<CodeConsumption>;
  /**
   * Optional: consumeAuthCode, `decide`, and upsertV1Grant of the grant it asks for (its
   * tombstone recording the grant) as one write, for a storage that can run `decide`
   * inside it (SQLite: one group-commit operation, decision 0086). `decide` is called
   * once, on what the consumption found (not at all if the code cannot be read). The
   * consumption is committed whatever follows it: when `decide` throws or the upsert
   * fails, the code is still consumed, nothing of the upsert remains, and the error is
   * thrown to the caller after the commit. Callers fall back to the separate calls when
   * absent (redeemAuthCode in redeem.ts).
   */
  redeemAuthCode?(codeHash: string, now: number, decide: CodeGrantDecision): Promise<CodeRedemption>;

  // --- grants and tokens
  /**
   * The same-token rule (§5.4) as one atomic step: returns the live V1 grant for
   * (user, app), refreshing authorizedAt, flow, client meta and its token expiry, or
   * creates it with the given seed and token hash. Concurrent callers for the same pair
   * all receive the same grant.
   */
  upsertV1Grant(request: V1GrantRequest): Promise<Grant>;
  findGrantById(id: number): Promise<Grant | null>;
  /** Live (not revoked, not expired) token by hash, with its grant and app, in one query. */
  findAccessToken(tokenHash: string, now: number): Promise<TokenLookup | null>;
  /**
   * Optional: findAccessToken and findUserById of its user as one lookup (one cache
   * probe on SQLite, decision 0081). Callers fall back to the two calls when absent.
   * May answer at once (SQLite), sparing every API call's hot path its promises (decision 0085).
   */
  findAccessTokenWithUser?(tokenHash: string, now: number): MaybePromise<{ lookup: TokenLookup; user: User } | null>;
  /** Marks the grant revoked and deletes its tokens. Only the owning user may revoke. Returns false if nothing matched. */
  revokeGrant(grantId: number, userId: number, now: number): Promise<boolean>;
  listConnectedApps(userId: number): Promise<ConnectedApp[]>;
  /** Adds counted API requests to grants (batched by the caller). */
  recordGrantUsage(usage: ReadonlyMap<number, { count: number; lastUsedAt: number }>): Promise<void>;

  // --- PINs (reference §7)
  /** Inserts a PIN; returns false (and stores nothing) if the user code is already taken by a live PIN. */
  createPin(pin: Pin): Promise<boolean>;
  findPin(userCode: string): Promise<Pin | null>;
  /**
   * What a device's poll needs of its PIN, and nothing more; may answer at once (decision
   * 0085). `now` is the caller's clock, for the memory the answer times are kept in.
   */
  findPinPollState(userCode: string, now: number): MaybePromise<PinPollState | null>;
  /**
   * A poll's app (by client_id) and its PIN's poll state in one round trip; null when no
   * app has that client_id. Optional: offered where each call is a round trip
   * (PostgreSQL, decision 0089); callers otherwise look the app up, then the PIN.
   */
  findAppAndPinPollState?(clientId: string, userCode: string, now: number): Promise<{ app: App; pin: PinPollState | null } | null>;
  /**
   * Notes, in this process's memory only, that a poll of a code whose state was just read
   * was answered at `at`: the next read of its state carries it as `answeredAt`. Not
   * shared with other instances and lost on restart, by design (decision 0080).
   */
  notePinAnswered(userCode: string, at: number): void;
  /** The live (not expired) PINs among these user codes, in one query (at most a few hundred codes). */
  findLivePinsByCodes(userCodes: readonly string[], now: number): Promise<Pin[]>;
  countLivePinsForApp(appId: number, now: number): Promise<number>;
  /** Records a poll time; returns the previous poll time. */
  touchPinPoll(userCode: string, now: number): Promise<number | null>;
  /** Attaches an approved grant to a pending PIN; false if the PIN is gone, expired or already approved. */
  approvePin(userCode: string, grantId: number, now: number): Promise<boolean>;
  /** Atomic single use: deletes and returns an approved PIN of this app, or null. */
  consumeApprovedPin(userCode: string, appId: number): Promise<Pin | null>;
  /** Counts a wrong try against a PIN; returns the new count. */
  addPinFailure(userCode: string): Promise<number>;
  deletePin(userCode: string): Promise<void>;

  // --- web sessions
  createSession(session: Session): Promise<void>;
  findSession(idHash: string, now: number): Promise<Session | null>;
  deleteSession(idHash: string): Promise<void>;

  // --- housekeeping
  /** Removes expired codes (consumed or not), PINs and sessions. */
  cleanup(now: number): Promise<CleanupCounts>;
}

/** Thrown when the database cannot be reached; the origins answer 503. */
export class StorageUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageUnavailableError';
  }
}

/** Thrown on a unique-constraint clash the caller can report (e.g. a taken username). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
