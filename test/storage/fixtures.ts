/** Rows for storage tests: each call a new one, unique where the schema asks it. */
import { randomBytes, randomInt } from 'node:crypto';
import { USER_CODE_ALPHABET, USER_CODE_LENGTH } from '../../src/oauth/user-codes.js';
import type { AuthCode, MintedToken, Pin, V1GrantRequest } from '../../src/storage/storage.js';

export const T0 = 1_700_000_000_000;
export const hex = (n = 32): string => randomBytes(n).toString('hex');
let seq = 0;
export const unique = (p: string): string => `${p}${++seq}_${randomBytes(3).toString('hex')}`;
/** A user code as keyfob issues them (5 of its 30 symbols), distinct within a run: the form a storage keeps poll memory for. */
let codeSeq = randomInt(30 ** 5);
export function wellFormedCode(): string {
  codeSeq = (codeSeq + 7919) % 30 ** 5;
  let n = codeSeq;
  let out = '';
  for (let i = 0; i < USER_CODE_LENGTH; i += 1) {
    out += USER_CODE_ALPHABET[n % USER_CODE_ALPHABET.length];
    n = Math.floor(n / USER_CODE_ALPHABET.length);
  }
  return out;
}

export function code(appId: number, userId: number, extra: Partial<AuthCode> = {}): AuthCode {
  return {
    codeHash: hex(),
    appId,
    userId,
    redirectUri: 'http://127.0.0.1:8765/callback',
    codeChallenge: null,
    codeChallengeMethod: null,
    appName: 'kodi',
    appVersion: '1.0',
    userAgent: 'UA/1',
    createdAt: T0,
    expiresAt: T0 + 600_000,
    ...extra,
  };
}
/** A grant request whose mintToken hands out tokenSeed and tokenHash (kept on the request for the assertions). */
export function grantReq(userId: number, appId: number, extra: Partial<V1GrantRequest & MintedToken> = {}): V1GrantRequest & MintedToken {
  const req = {
    userId,
    appId,
    flow: 'code' as const,
    tokenSeed: hex(),
    tokenHash: hex(),
    now: T0,
    tokenExpiresAt: T0 + 1_000_000,
    appName: 'kodi',
    appVersion: '1.0',
    userAgent: 'UA/1',
    ...extra,
  };
  return { mintToken: () => ({ tokenSeed: req.tokenSeed, tokenHash: req.tokenHash }), ...req };
}
export function pin(appId: number, extra: Partial<Pin> = {}): Pin {
  return {
    userCode: unique('PIN').toUpperCase(),
    appId,
    redirect: null,
    appName: 'tv',
    appVersion: '2',
    userAgent: 'TV/1',
    createdIp: '127.0.0.1',
    createdAt: T0,
    expiresAt: T0 + 900_000,
    grantId: null,
    failedAttempts: 0,
    lastPolledAt: null,
    ...extra,
  };
}
