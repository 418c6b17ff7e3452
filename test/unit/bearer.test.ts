import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { sentV1Token } from '../../src/api/resource-auth.js';
import { looksLikeV1Token } from '../../src/oauth/tokens.js';

const TOKEN = '0123456789abcdef'.repeat(4);

/** The whole rule in one regular expression (RFC 6750 §2.1 scheme in any case, one or more spaces; 64 lower-case hex). */
function byRegExp(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^[Bb][Ee][Aa][Rr][Ee][Rr] +([0-9a-f]{64})\s*$/.exec(header);
  return m ? m[1]! : null;
}

/** What sentV1Token hands on is a V1 token, or something no stored token can match (it is hashed before any lookup). */
function noV1Token(candidate: string | null): boolean {
  return candidate === null || !looksLikeV1Token(candidate);
}

describe('the V1 token in an Authorization header', () => {
  it('takes the token from the usual shape and from every other shape the rule allows', () => {
    for (const header of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `BeArEr ${TOKEN}`, `Bearer   ${TOKEN}`, `Bearer ${TOKEN}\t`, `Bearer ${TOKEN} `]) {
      assert.equal(sentV1Token(header), TOKEN, header);
    }
  });

  it('finds none in a header of another shape', () => {
    for (const header of [undefined, '', 'Bearer', `Bearer\t${TOKEN}`, `Bearer ${TOKEN}0`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, `Bearer_${TOKEN}`, `Bearer ${TOKEN} extra`, `bearer ${TOKEN.toUpperCase()}`]) {
      assert.equal(sentV1Token(header), null, String(header));
    }
  });

  it('hands on the 64 characters after "Bearer " as they are, which are no V1 token unless lower-case hex', () => {
    for (const last of ['g', '/', ':', '`', 'A', ' ']) {
      const header = `Bearer ${TOKEN.slice(1)}${last}`;
      assert.equal(sentV1Token(header), `${TOKEN.slice(1)}${last}`);
      assert.ok(noV1Token(sentV1Token(header)), header);
    }
    assert.ok(noV1Token(sentV1Token(`Bearer ${TOKEN.toUpperCase()}`)));
  });

  it('finds the token the single regular expression finds, and no other V1 token, in any header', () => {
    const hexish = fc.constantFrom(...'0123456789abcdefABCDEFg/:`- \t');
    const headers = fc.oneof(
      fc.string(),
      fc.string({ unit: hexish, minLength: 60, maxLength: 68 }).map((s) => `Bearer ${s}`),
      fc.tuple(fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Bearer ', 'Bearer\t', 'Basic'), fc.string({ unit: hexish, minLength: 64, maxLength: 66 })).map(([a, b]) => `${a} ${b}`),
    );
    fc.assert(
      fc.property(headers, (header) => {
        const expected = byRegExp(header);
        const got = sentV1Token(header);
        return expected === null ? noV1Token(got) : got === expected;
      }),
      { numRuns: 5000 },
    );
  });
});
