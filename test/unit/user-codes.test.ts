import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateUserCode, neighbourCodes, normalizeUserCode, USER_CODE_ALPHABET, userCodeKey } from '../../src/oauth/user-codes.js';

describe('PIN user codes', () => {
  it('are 5 characters from an alphabet without look-alikes', () => {
    for (const ch of '01OIL') assert.equal(USER_CODE_ALPHABET.includes(ch), false, ch);
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i += 1) {
      const code = generateUserCode();
      assert.match(code, /^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{5}$/);
      seen.add(code);
    }
    assert.ok(seen.size > 4990, 'codes repeat far more often than chance allows');
  });

  it('uses every symbol of the alphabet in every position', () => {
    const perPosition = Array.from({ length: 5 }, () => new Set<string>());
    for (let i = 0; i < 3000; i += 1) [...generateUserCode()].forEach((ch, p) => perPosition[p]!.add(ch));
    for (const s of perPosition) assert.equal(s.size, USER_CODE_ALPHABET.length);
  });

  it('normalise case, spaces and dashes, and refuse anything else', () => {
    assert.equal(normalizeUserCode('abcde'), 'ABCDE');
    assert.equal(normalizeUserCode(' ab-c d\u2013e\t'), 'ABCDE');
    assert.equal(normalizeUserCode('AB CDE'), 'ABCDE');
    for (const bad of ['', 'ABCD', 'ABCDEF', 'ABCD0', 'ABCDO', 'ABCD1', 'ABCDI', 'ABCDL', 'AB_DE', 'ÄBCDE', 'A'.repeat(100)]) {
      assert.equal(normalizeUserCode(bad), null, bad);
    }
  });

  it('map keys: one small integer per well-formed code, no two codes alike; anything else keys as itself', () => {
    const A = USER_CODE_ALPHABET;
    assert.equal(userCodeKey('22222'), 0);
    assert.equal(userCodeKey('22223'), 1);
    assert.equal(userCodeKey('ZZZZZ'), A.length ** 5 - 1);
    const keys = new Set<string>();
    // Every code that differs from another in one position, over all positions and symbols.
    for (let p = 0; p < 5; p += 1) {
      for (const ch of A) {
        const code = `${'2'.repeat(p)}${ch}${'Z'.repeat(4 - p)}`;
        const key = userCodeKey(code);
        assert.equal(typeof key, 'number', code);
        assert.ok(Number.isInteger(key) && (key as number) >= 0 && (key as number) < A.length ** 5, code);
        keys.add(`${code}:${String(key)}`);
      }
    }
    assert.equal(new Set([...keys].map((k) => k.split(':')[1])).size, keys.size, 'two codes share a key');
    // Random codes: equal keys exactly when the codes are equal.
    const byKey = new Map<number | string, string>();
    for (let i = 0; i < 20_000; i += 1) {
      const code = generateUserCode();
      const key = userCodeKey(code);
      assert.equal(byKey.get(key) ?? code, code);
      byKey.set(key, code);
    }
    for (const other of ['', 'ABCD', 'ABCDEF', 'abcde', 'ABCD0', 'ABCDÄ', 'AB\u{1F600}']) assert.equal(userCodeKey(other), other, other);
  });

  it('a code sent exactly as issued is taken as it is', () => {
    const code = generateUserCode();
    assert.equal(normalizeUserCode(code), code);
  });

  it('normalising a generated code with noise added gives the code back', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(' ', '-', '\u2014'), { maxLength: 6 }), fc.boolean(), (noise, lower) => {
        const code = generateUserCode();
        let typed = '';
        [...code].forEach((ch, i) => (typed += (noise[i] ?? '') + (lower ? ch.toLowerCase() : ch)));
        assert.equal(normalizeUserCode(typed), code);
      }),
    );
  });

  it('list the 145 codes one character away', () => {
    const n = neighbourCodes('ABCDE');
    assert.equal(n.length, 5 * (USER_CODE_ALPHABET.length - 1));
    assert.equal(new Set(n).size, n.length);
    assert.ok(!n.includes('ABCDE'));
    for (const c of n) assert.equal([...c].filter((ch, i) => ch !== 'ABCDE'[i]).length, 1);
  });
});
