import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcceptedTokenDigests } from '../../src/api/accepted-token-digests.js';
import { hashToken } from '../../src/oauth/tokens.js';

const token = (n: number) => n.toString(16).padStart(64, '0');

describe('the digests of accepted bearer tokens (decision 0104)', () => {
  it('keeps nothing until a token is accepted, then its digest until it is refused', () => {
    const digests = new AcceptedTokenDigests();
    const t = token(1);
    assert.equal(digests.kept(t), undefined);
    digests.accepted(t, hashToken(t));
    assert.equal(digests.kept(t), hashToken(t));
    assert.equal(digests.size, 1);
    digests.refused(t);
    assert.equal(digests.kept(t), undefined);
    assert.equal(digests.size, 0);
    // Refusing a token that was never kept is harmless.
    digests.refused(token(2));
    assert.equal(digests.size, 0);
  });

  it('holds at most its limit, starting over past it, and keeps the token that came last', () => {
    const digests = new AcceptedTokenDigests(3);
    for (let n = 1; n <= 3; n++) digests.accepted(token(n), hashToken(token(n)));
    assert.equal(digests.size, 3);
    // Accepting a kept token again neither grows nor empties it.
    digests.accepted(token(2), hashToken(token(2)));
    assert.equal(digests.size, 3);
    assert.equal(digests.kept(token(1)), hashToken(token(1)));
    digests.accepted(token(4), hashToken(token(4)));
    assert.equal(digests.size, 1);
    assert.equal(digests.kept(token(1)), undefined);
    assert.equal(digests.kept(token(4)), hashToken(token(4)));
  });

  it('tells apart tokens that differ in one character only', () => {
    const digests = new AcceptedTokenDigests();
    const t = token(0xabc);
    digests.accepted(t, hashToken(t));
    assert.equal(digests.kept(`${t.slice(0, 63)}d`), undefined);
    assert.equal(digests.kept(t.toUpperCase()), undefined);
  });
});
