import type { RateLimiter } from '../../ratelimit/limiter.js';
import type { App, ClientMeta, Pin, PinPollState } from '../../storage/storage.js';
import type { ProtocolDeps } from '../deps.js';
import { ProtocolError } from '../errors.js';
import { isRegisteredRedirectUri } from '../redirect-uri.js';
import { deriveV1AccessToken } from '../tokens.js';
import { generateUserCode, neighbourCodes, normalizeUserCode } from '../user-codes.js';
import { then, type MaybePromise } from '../../util/maybe-promise.js';
import { issueV1Token } from './v1-token.js';

/**
 * The V1 PIN ("device") flow, reference §7: GET /oauth/pin creates a code, the device
 * polls GET /oauth/pin/{user_code}, a person approves the code on the web origin's /pin page.
 * No Fastify here: the api routes (src/api/pin-routes.ts) and the web pages
 * (src/web/routes/pin.ts) call these functions. Limits and their reasons: docs/decisions/0030–0032.
 */

/** §7.1: the numbers every client reads. */
export const PIN_EXPIRES_IN_S = 900;
export const PIN_INTERVAL_S = 5;

export const PIN_LIMITS = {
  /** Legacy "Slow down" (§7.2): answered polls of one code at least this far apart. Not `interval`: decision 0031. */
  minPollGapMs: 1000,
  /** Live PINs one app may hold at once: bounds the table whatever polls unknown codes. */
  maxLivePerApp: 1000,
  /** PINs one address may create (GET /oauth/pin and polls of dead codes alike) per window. */
  createPerAddress: 30,
  createWindowMs: 10 * 60 * 1000,
  /** Wrong codes typed on /pin, per account and per address, per window. */
  wrongPerAccount: 10,
  wrongPerAddress: 30,
  wrongWindowMs: 15 * 60 * 1000,
  /** Wrong tries aimed at one live code (typed one character off it) before it is locked. */
  maxTriesPerCode: 5,
  /** Expired PINs are swept at most this often per process, on PIN creation. */
  sweepEveryMs: 60 * 1000,
} as const;

export interface PinDeps extends ProtocolDeps {
  limiter: RateLimiter;
}

/** §7.1 success body, member order as the reference shows it. */
export interface PinInitResponse {
  result: 'OK';
  device_code: 'DEVICE_CODE';
  user_code: string;
  verification_uri: string;
  verification_url: string;
  expires_in: number;
  interval: number;
}

/** §7.2 poll bodies other than the init shape. */
export type PinPollResponse =
  | { result: 'KO'; message: 'Authorization pending' }
  | { result: 'KO'; message: 'Slow down' }
  | { result: 'OK'; access_token: string };

/** A 429 that says when to come back (the route turns retryAfterS into Retry-After). */
export class PinRateLimitError extends ProtocolError {
  constructor(
    message: string,
    readonly retryAfterS: number,
  ) {
    super('rate_limit', message);
  }
}

/**
 * Who is asking, checked first on both PIN endpoints (§7.1, §10.2, §10.3):
 *   1. client_id present (query or simkl-api-key) and names an app -> 412 client_id_failed
 *   2. the app is a V1 app                                          -> 400 unauthorized_client
 * At once when the storage answers at once (decision 0085).
 */
export function resolvePinClient(deps: ProtocolDeps, clientId: string | undefined): MaybePromise<App> {
  if (!clientId || clientId.length > 200) throw new ProtocolError('client_id_failed');
  return then(deps.storage.findAppByClientId(clientId), requireV1PinApp);
}

function requireV1PinApp(app: App | null): App {
  if (!app) throw new ProtocolError('client_id_failed');
  if (app.dialect !== 'v1') {
    throw new ProtocolError('unauthorized_client', 'This client_id is an OAuth 2.0 app: use POST /oauth2/device instead of /oauth/pin');
  }
  return app;
}

const lastSweep = new WeakMap<object, number>();

/** Removes expired PINs (with expired codes and sessions) now and then, so dead rows do not pile up. */
async function sweepNowAndThen(deps: PinDeps, now: number): Promise<void> {
  const last = lastSweep.get(deps.storage) ?? 0;
  if (now - last < PIN_LIMITS.sweepEveryMs) return;
  lastSweep.set(deps.storage, now);
  await deps.storage.cleanup(now);
}

/**
 * Creates a PIN and returns the init body. Checks, in order:
 *   1. redirect, when sent, is registered for the app byte for byte -> 403 redirect_failed (§7.1)
 *   2. this address has created fewer than createPerAddress PINs lately -> 429 rate_limit
 *   3. the app holds fewer than maxLivePerApp live PINs               -> 429 rate_limit
 * Polls of dead codes come here too (§7.2), so both bounds hold for them.
 */
export async function startPin(
  deps: PinDeps,
  input: { app: App; redirect: string | undefined; meta: ClientMeta; ip: string; verificationUri: string },
): Promise<PinInitResponse> {
  const { app, redirect } = input;
  if (redirect !== undefined && !isRegisteredRedirectUri(app.redirectUris, redirect)) {
    throw new ProtocolError('redirect_failed', 'Invalid redirect. This value must match a URL registered with the API Key.');
  }
  const rate = await deps.limiter.hit(`pin:create:ip:${input.ip}`, PIN_LIMITS.createPerAddress, PIN_LIMITS.createWindowMs);
  if (!rate.allowed) {
    throw new PinRateLimitError('Too many PINs requested from this address; try again later', Math.max(1, Math.ceil(rate.resetMs / 1000)));
  }
  const now = deps.clock.now();
  await sweepNowAndThen(deps, now);
  if ((await deps.storage.countLivePinsForApp(app.id, now)) >= PIN_LIMITS.maxLivePerApp) {
    throw new PinRateLimitError('Too many PINs are waiting for this app; try again later', PIN_INTERVAL_S);
  }
  // Unique among live codes: createPin refuses a code a live PIN holds, so draw again.
  for (let attempt = 0; attempt < 8; attempt += 1) {
    const userCode = generateUserCode();
    const created = await deps.storage.createPin({
      userCode,
      appId: app.id,
      redirect: redirect ?? null,
      ...input.meta,
      createdAt: now,
      expiresAt: now + PIN_EXPIRES_IN_S * 1000,
      grantId: null,
      failedAttempts: 0,
      lastPolledAt: null,
      createdIp: input.ip,
    });
    if (created) return initResponse(userCode, input.verificationUri);
  }
  throw new ProtocolError('internal');
}

export function initResponse(userCode: string, verificationUri: string): PinInitResponse {
  return {
    result: 'OK',
    device_code: 'DEVICE_CODE',
    user_code: userCode,
    verification_uri: verificationUri,
    verification_url: verificationUri,
    expires_in: PIN_EXPIRES_IN_S,
    interval: PIN_INTERVAL_S,
  };
}

/** The answer to most polls: built once. */
const PENDING: PinPollResponse = Object.freeze({ result: 'KO', message: 'Authorization pending' } as const);
const SLOW_DOWN: PinPollResponse = Object.freeze({ result: 'KO', message: 'Slow down' } as const);

/** What a poll knows of its caller; `meta` is read only when a fresh PIN is made. */
export interface PollInput {
  app: App;
  rawCode: string;
  meta: () => ClientMeta;
  ip: string;
  verificationUri: string;
}

/**
 * GET /oauth/pin/{user_code} after the client is resolved (§7.2). In order:
 *   1. the code is well formed, exists, is live and belongs to this app; otherwise it is
 *      dead to this caller and it receives a fresh PIN in the init shape, as the reference
 *      does (another app's code is indistinguishable from an unknown one)
 *   2. answered less than minPollGapMs ago                  -> "Slow down" (no write)
 *   3. approved: consumed atomically                        -> {"result":"OK","access_token"}
 *   4. otherwise the poll time is recorded                  -> "Authorization pending"
 * A pending poll costs one read of four columns on the primary key (from memory where the
 * storage holds it, decisions 0085, 0095), and no promise where the storage answers at
 * once; only a code's first answered poll is also written (decision 0080), later answers
 * are noted in this process's memory. A too-fast one costs the read.
 */
export function pollPin(deps: PinDeps, input: PollInput): MaybePromise<PinPollResponse | PinInitResponse> {
  const code = normalizeUserCode(input.rawCode);
  const now = deps.clock.now();
  const state = code === null ? null : deps.storage.findPinPollState(code, now);
  // Not `then(state, …)`: no closure per poll when the storage answered at once.
  if (state instanceof Promise) return state.then((pin) => answerPoll(deps, input, now, pin));
  return answerPoll(deps, input, now, state);
}

/** What a poll reads before it is answered: its client's app and its PIN's state, at `now`. */
export interface PollRead {
  app: App;
  pin: PinPollState | null;
  now: number;
}

/**
 * The client and the PIN of a poll in one storage call, where the storage offers it
 * (PostgreSQL: one round trip instead of two, decision 0089); null where it does not, or
 * when the code is not well formed (then resolvePinClient and pollPin answer as usual).
 * Rejects as resolvePinClient does for an unknown or OAuth 2.0 client.
 */
export function readPollTogether(deps: ProtocolDeps, clientId: string | undefined, rawCode: string): Promise<PollRead> | null {
  const { storage } = deps;
  if (!storage.findAppAndPinPollState || !clientId || clientId.length > 200) return null;
  const code = normalizeUserCode(rawCode);
  if (code === null) return null;
  const now = deps.clock.now();
  return storage.findAppAndPinPollState(clientId, code, now).then((found) => ({ app: requireV1PinApp(found?.app ?? null), pin: found?.pin ?? null, now }));
}

/** pollPin's steps 1 to 4 on what readPollTogether read. */
export function answerPollRead(deps: PinDeps, input: Omit<PollInput, 'app'>, read: PollRead): MaybePromise<PinPollResponse | PinInitResponse> {
  return answerPoll(deps, { ...input, app: read.app }, read.now, read.pin);
}

/** pollPin's steps 1 to 4, on what the storage holds for the code. */
function answerPoll(deps: PinDeps, input: PollInput, now: number, pin: PinPollState | null): MaybePromise<PinPollResponse | PinInitResponse> {
  if (!pin || pin.appId !== input.app.id || pin.expiresAt <= now) return freshPin(deps, input);
  // The later of this instance's last answer and the first poll written by any instance.
  const answeredAt = Math.max(pin.answeredAt, pin.lastPolledAt ?? -Infinity);
  if (now - answeredAt < PIN_LIMITS.minPollGapMs && now >= answeredAt) return SLOW_DOWN;
  if (pin.grantId !== null) return collectApproved(deps, input, pin.userCode);
  deps.storage.notePinAnswered(pin.userCode, now);
  // Only the first answered poll is written (it shows the device is polling, and holds
  // "Slow down" for that poll on every instance); later ones are kept in memory (decision 0080).
  if (pin.lastPolledAt === null) return deps.storage.touchPinPoll(pin.userCode, now).then(() => PENDING);
  return PENDING;
}

/** A dead code's answer (§7.2): a fresh PIN in the init shape. */
function freshPin(deps: PinDeps, input: PollInput): Promise<PinInitResponse> {
  return startPin(deps, { app: input.app, redirect: undefined, meta: input.meta(), ip: input.ip, verificationUri: input.verificationUri });
}

/** An approved code: consumed once, answered with the grant's token. */
async function collectApproved(deps: PinDeps, input: PollInput, userCode: string): Promise<PinPollResponse | PinInitResponse> {
  const collected = await deps.storage.consumeApprovedPin(userCode, input.app.id);
  const grant = collected?.grantId ? await deps.storage.findGrantById(collected.grantId) : null;
  if (grant && grant.revokedAt === null) return { result: 'OK', access_token: deriveV1AccessToken(deps.secret, grant.tokenSeed) };
  // Collected by a concurrent poll, or the grant was revoked in between: this code is gone.
  return freshPin(deps, input);
}

/** What the /pin page learns from a typed code. */
export type PinEntry =
  | { kind: 'found'; pin: Pin; app: App }
  | { kind: 'format' }
  | { kind: 'unknown' }
  | { kind: 'limited'; retryAfterS: number };

/**
 * A code typed (or pre-filled) on /pin, for a signed-in account, from an address.
 * Checks, in order (decision 0030):
 *   1. fewer than wrongPerAccount / wrongPerAddress wrong codes in the window -> limited
 *   2. the text normalises to a well-formed code                             -> format (not counted: it can match nothing)
 *   3. a live, pending PIN holds it, with fewer than maxTriesPerCode wrong tries -> found
 *   otherwise the wrong try is counted for the account and the address, and against every
 *   live pending code one character away; such a code reaching maxTriesPerCode is locked
 *   (deleted: its device's next poll receives a fresh code, §7.2).
 */
export async function enterPinCode(deps: PinDeps, input: { userId: number; ip: string; typed: string }): Promise<PinEntry> {
  const accountKey = `pin:wrong:user:${input.userId}`;
  const addressKey = `pin:wrong:ip:${input.ip}`;
  const [byAccount, byAddress] = await Promise.all([
    deps.limiter.peek(accountKey, PIN_LIMITS.wrongWindowMs),
    deps.limiter.peek(addressKey, PIN_LIMITS.wrongWindowMs),
  ]);
  if (byAccount >= PIN_LIMITS.wrongPerAccount || byAddress >= PIN_LIMITS.wrongPerAddress) {
    return { kind: 'limited', retryAfterS: PIN_LIMITS.wrongWindowMs / 1000 };
  }
  const code = normalizeUserCode(input.typed);
  if (code === null) return { kind: 'format' };
  const now = deps.clock.now();
  const pin = await deps.storage.findPin(code);
  if (pin && pin.expiresAt > now && pin.grantId === null && pin.failedAttempts < PIN_LIMITS.maxTriesPerCode) {
    const app = await deps.storage.findAppById(pin.appId);
    if (app) return { kind: 'found', pin, app };
  }
  await Promise.all([
    deps.limiter.hit(accountKey, Infinity, PIN_LIMITS.wrongWindowMs),
    deps.limiter.hit(addressKey, Infinity, PIN_LIMITS.wrongWindowMs),
  ]);
  const near = await deps.storage.findLivePinsByCodes(neighbourCodes(code), now);
  for (const target of near) {
    if (target.grantId !== null) continue;
    const tries = await deps.storage.addPinFailure(target.userCode);
    if (tries >= PIN_LIMITS.maxTriesPerCode) await deps.storage.deletePin(target.userCode);
  }
  return { kind: 'unknown' };
}

/**
 * Approval (§7.2): the same long-lived V1 token as every other flow (§5.4, §8) is issued now,
 * bound to the device's self-description; the PIN keeps only the grant id, and the poll
 * derives the token from the grant. Returns false if the PIN went away or was approved meanwhile.
 */
export async function approvePinCode(deps: PinDeps, input: { userId: number; pin: Pin }): Promise<boolean> {
  const { pin } = input;
  const { grant } = await issueV1Token(deps, {
    userId: input.userId,
    appId: pin.appId,
    flow: 'pin',
    meta: { appName: pin.appName, appVersion: pin.appVersion, userAgent: pin.userAgent },
  });
  return deps.storage.approvePin(pin.userCode, grant.id, deps.clock.now());
}

/**
 * Denial: V1 polling has no denied answer (§7.2, §12.3), so the PIN is deleted and the
 * device's next poll receives a fresh code in the init shape, which is how the reference
 * treats every dead code (decision 0032).
 */
export async function denyPinCode(deps: PinDeps, pin: Pin): Promise<void> {
  await deps.storage.deletePin(pin.userCode);
}
