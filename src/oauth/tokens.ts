import { createSecretKey, type KeyObject } from 'node:crypto';
import { hmacHex, randomBase64Url, randomHex, sha256Hex } from '../util/crypto.js';

/** §5.2: V1 tokens advertise a 5-year life. */
export const V1_TOKEN_LIFETIME_S = 157_680_000;
/** Authorization codes live 10 minutes (our choice for V1, matching V2 §11.3; docs/decisions/0002). */
export const AUTH_CODE_LIFETIME_MS = 10 * 60 * 1000;

/**
 * V1 access token for a grant: HMAC-SHA256(server secret, seed), 64 hex characters (§5.2).
 * Deriving it lets keyfob hand the same token to the same (user, app) again (§5.4)
 * without storing it: the database holds the seed and SHA-256(token), and neither
 * alone calls the API.
 */
export function deriveV1AccessToken(serverSecret: string, tokenSeed: string): string {
  return hmacHex(secretKeyOf(serverSecret), `keyfob:v1-access-token:${tokenSeed}`);
}

/**
 * The server secret as a KeyObject, made once (a process has one secret; tests use a few,
 * hence a small map): an HMAC keyed by a KeyObject skips encoding the key string on every
 * exchange.
 */
const secretKeys = new Map<string, KeyObject>();
function secretKeyOf(serverSecret: string): KeyObject {
  let key = secretKeys.get(serverSecret);
  if (key === undefined) {
    if (secretKeys.size >= 8) secretKeys.clear();
    key = createSecretKey(Buffer.from(serverSecret, 'utf8'));
    secretKeys.set(serverSecret, key);
  }
  return key;
}

export function newTokenSeed(): string {
  return randomHex(32);
}

/** What is stored and looked up for any bearer token. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/** Authorization codes: 256 random bits, URL-safe. Stored only as hashes. */
export function newAuthCode(): string {
  return randomBase64Url(32);
}

/** client_id: 64 hex characters, the shape Simkl's ids have. Public. */
export function newClientId(): string {
  return randomHex(32);
}

/** client_secret: 64 hex characters; stored as SHA-256 (high entropy needs no slow hash). */
export function newClientSecret(): string {
  return randomHex(32);
}

/** Shape check done before any lookup, so junk never reaches the database. */
export function looksLikeV1Token(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}
