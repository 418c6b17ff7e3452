import { randomInt } from 'node:crypto';

/**
 * PIN user codes (reference §7.1): 5 characters, as the reference's prose says. The
 * alphabet drops the look-alikes 0/O, 1/I/L and also U (as Crockford's base32 does, so
 * fewer words are spelled by accident): 30 symbols, 30^5 ≈ 24.3 million codes. The
 * guessing risk of so short a code and what bounds it: docs/decisions/0030.
 */
export const USER_CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';
export const USER_CODE_LENGTH = 5;

const VALID = new RegExp(`^[${USER_CODE_ALPHABET}]{${USER_CODE_LENGTH}}$`);

/** A fresh code from the CSPRNG, uniform over the alphabet (randomInt has no modulo bias). */
export function generateUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i += 1) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

/**
 * What a person typed, as stored: upper case, spaces and dashes (any Unicode dash or
 * white space) removed. Returns null when the result cannot be a code, so junk never
 * reaches the database. The length is checked before and after so a long paste costs nothing.
 */
export function normalizeUserCode(input: string): string | null {
  // What devices send on every poll: the code exactly as issued, with nothing to remove.
  if (input.length === USER_CODE_LENGTH && VALID.test(input)) return input;
  if (input.length > 64) return null;
  const code = input.replace(/[\s\p{Pd}]+/gu, '').toUpperCase();
  return VALID.test(code) ? code : null;
}

/**
 * Every code one character away from `code` (Hamming distance 1): 5 × 29 = 145 codes.
 * A wrong code typed on /pin that is this close to a live code is either a typo or a
 * guess aimed at that code; either way it counts as a wrong try against it (decision 0030).
 */
export function neighbourCodes(code: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < code.length; i += 1) {
    for (const ch of USER_CODE_ALPHABET) {
      if (ch !== code[i]) out.push(code.slice(0, i) + ch + code.slice(i + 1));
    }
  }
  return out;
}

/** Each alphabet character's index by char code, -1 for every other character. */
const CHAR_INDEX = new Int8Array(128).fill(-1);
for (let i = 0; i < USER_CODE_ALPHABET.length; i += 1) CHAR_INDEX[USER_CODE_ALPHABET.charCodeAt(i)] = i;

/**
 * A map key for a user code: a well-formed code as its number in base 30 (below
 * 30^5 ≈ 24.3 million, a small integer), anything else as itself. The maps a PIN poll
 * reads hold one entry per live or recently polled code, 100,000 and more on a busy
 * server; a V8 Map hashes and compares a small integer without reading a string, which
 * made a poll's three lookups about a third cheaper (decision 0087).
 */
export function userCodeKey(code: string): number | string {
  if (code.length !== USER_CODE_LENGTH) return code;
  let n = 0;
  for (let i = 0; i < USER_CODE_LENGTH; i += 1) {
    const c = code.charCodeAt(i);
    const d = c < 128 ? CHAR_INDEX[c]! : -1;
    if (d < 0) return code;
    n = n * USER_CODE_ALPHABET.length + d;
  }
  return n;
}
