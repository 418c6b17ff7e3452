import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateUserCode, neighbourCodes, normalizeUserCode, USER_CODE_ALPHABET } from '../../src/oauth/user-codes.js';

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
