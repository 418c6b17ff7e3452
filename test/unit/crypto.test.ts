/**
 * The hot-path helpers of src/util/crypto.ts answer exactly what Node's general primitives
 * do: HMAC-SHA256 (RFC 2104, RFC 4231 vectors), one-shot digests, constant-time comparison,
 * and pooled random strings of the asked length that never repeat.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { hmacHex, randomBase64Url, randomHex, safeEqual, secretMatchesHash, sha256Base64Url, sha256Hex } from '../../src/util/crypto.js';
import { deriveV1AccessToken } from '../../src/oauth/tokens.js';

const reference = (key: string | Buffer, value: string) => createHmac('sha256', key).update(value, 'utf8').digest('hex');

describe('crypto helpers', () => {
  it('hmacHex equals createHmac for short, block-sized, long and non-ASCII keys and messages', () => {
    const keys = ['', 'k', 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz', 'x'.repeat(64), 'y'.repeat(65), 'z'.repeat(300), 'clé-secrète-🔑', randomBytes(32).toString('hex')];
    const values = ['', 'a', `keyfob:v1-access-token:${randomBytes(32).toString('hex')}`, 'é'.repeat(170), '🔑'.repeat(85), 'm'.repeat(170), 'm'.repeat(171), 'n'.repeat(5000)];
    for (const key of keys) {
      for (const value of values) assert.equal(hmacHex(key, value), reference(key, value), `key ${key.length}, value ${value.length}`);
    }
    const buffer = randomBytes(40);
    assert.equal(hmacHex(buffer, 'from a buffer key'), reference(buffer, 'from a buffer key'));
  });

  it('RFC 4231 test case 2 (HMAC-SHA-256)', () => {
    assert.equal(hmacHex('Jefe', 'what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  it('a V1 token is what it always was: HMAC-SHA256(secret, "keyfob:v1-access-token:" + seed)', () => {
    const secret = randomBytes(32).toString('hex');
    for (let i = 0; i < 50; i++) {
      const seed = randomBytes(32).toString('hex');
      assert.equal(deriveV1AccessToken(secret, seed), reference(secret, `keyfob:v1-access-token:${seed}`));
    }
  });

  it('digests equal createHash', () => {
    for (const v of ['', 'abc', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'é🔑']) {
      assert.equal(sha256Hex(v), createHash('sha256').update(v, 'utf8').digest('hex'));
      assert.equal(sha256Base64Url(v), createHash('sha256').update(v, 'utf8').digest('base64url'));
    }
  });

  it('safeEqual tells equal from different strings, whatever their lengths and bytes', () => {
    const digestsWithZeros = ['', '\u0000', 'é', '🔑', 'a'.repeat(1000)];
    for (const a of digestsWithZeros) {
      for (const b of digestsWithZeros) assert.equal(safeEqual(a, b), a === b, `${a.length} vs ${b.length}`);
    }
    const h = randomBytes(32).toString('hex');
    assert.equal(safeEqual(h, h.slice()), true);
    assert.equal(safeEqual(h, `${h.slice(0, 63)}${h[63] === '0' ? '1' : '0'}`), false);
  });

  it('secretMatchesHash accepts exactly the secret whose sha256Hex is stored, and no malformed digest', () => {
    for (const secret of ['', 'f'.repeat(64), 'é🔑 secret', randomBytes(32).toString('hex')]) {
      const stored = sha256Hex(secret);
      assert.equal(secretMatchesHash(secret, stored), true);
      // Hex digits read the same in either case.
      assert.equal(secretMatchesHash(secret, stored.toUpperCase()), true);
      assert.equal(secretMatchesHash(`${secret}x`, stored), false);
      assert.equal(secretMatchesHash(secret, `${stored.slice(0, 63)}${stored[63] === '0' ? '1' : '0'}`), false);
      // Not 64 hex digits: a shorter, longer, or partly non-hex value matches nothing.
      assert.equal(secretMatchesHash(secret, stored.slice(0, 62)), false);
      assert.equal(secretMatchesHash(secret, `${stored}00`), false);
      assert.equal(secretMatchesHash(secret, `${stored.slice(0, 62)}zz`), false);
      assert.equal(secretMatchesHash(secret, ''), false);
    }
  });

  it('random strings have the asked length, across pool refills, and never repeat', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const hex = randomHex(32);
      assert.match(hex, /^[0-9a-f]{64}$/);
      const b64 = randomBase64Url(32);
      assert.match(b64, /^[A-Za-z0-9_-]{43}$/);
      seen.add(hex).add(b64);
    }
    assert.equal(seen.size, 2000);
    assert.match(randomHex(7), /^[0-9a-f]{14}$/);
    assert.equal(randomHex(5000).length, 10_000);
  });
});
