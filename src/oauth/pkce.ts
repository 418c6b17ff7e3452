import { safeEqual, sha256Base64Url } from '../util/crypto.js';

export type PkceMethod = 'S256' | 'plain';

/** RFC 7636 §4.2: methods are case-sensitive; S256 is the default when omitted (§6.2 of the reference). */
export function parseChallengeMethod(value: string | undefined): PkceMethod | null {
  if (value === undefined || value === '') return 'S256';
  if (value === 'S256' || value === 'plain') return value;
  return null;
}

/** RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** RFC 7636 §4.2: a challenge has the same alphabet and length. */
export function isValidChallenge(value: string): boolean {
  return VERIFIER.test(value);
}

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))); a well-formed verifier is ASCII, so its UTF-8 is the same bytes. */
export function s256(verifier: string): string {
  return sha256Base64Url(verifier);
}

/**
 * RFC 7636 §4.6. A malformed verifier fails exactly like a wrong one (reference §6.1),
 * and the comparison is constant-time.
 */
export function verifyPkce(verifier: string, challenge: string, method: PkceMethod): boolean {
  const wellFormed = VERIFIER.test(verifier);
  const computed = method === 'S256' ? s256(verifier) : verifier;
  const equal = safeEqual(computed, challenge);
  return wellFormed && equal;
}
