import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { USER_CODE_ALPHABET } from '../../src/oauth/user-codes.js';
import { PinPollTable, type StoredPollState } from '../../src/storage/pin-poll-table.js';

const NONE = Number.NEGATIVE_INFINITY;
const T = 1_800_000_000_000;

/** The n-th well-formed user code (n below 30^5), spread over the alphabet. */
function codeOf(n: number): string {
  let s = '';
  for (let i = 0; i < 5; i += 1) {
    s += USER_CODE_ALPHABET[n % 30];
    n = Math.floor(n / 30);
  }
  return s;
}

function pending(userCode: string, expiresAt = T + 900_000, appId = 7): StoredPollState {
  return { userCode, appId, expiresAt, grantId: null, lastPolledAt: null };
}

/** A storage's memory of PIN polls (decision 0095): states by epoch, answer times beside them. */
describe('PinPollTable', () => {
  it('serves a tagged state until the epoch moves, and keeps the answer time across the move', () => {
    const t = new PinPollTable();
    assert.equal(t.fresh('ABCDE'), undefined);
    assert.deepEqual(t.store('ABCDE', pending('ABCDE'), T, true), { ...pending('ABCDE'), answeredAt: NONE });
    assert.deepEqual(t.fresh('ABCDE'), { ...pending('ABCDE'), answeredAt: NONE });
    t.noteAnswered('ABCDE', T + 5);
    assert.equal(t.fresh('ABCDE')?.answeredAt, T + 5);
    t.stale();
    assert.equal(t.fresh('ABCDE'), undefined, 'read again after the database changed');
    const reread = { ...pending('ABCDE'), grantId: 42, lastPolledAt: T + 1 };
    assert.deepEqual(t.store('ABCDE', reread, T + 6, true), { ...reread, answeredAt: T + 5 });
    assert.deepEqual(t.fresh('ABCDE'), { ...reread, answeredAt: T + 5 });
    assert.equal(t.size, 1);
  });

  it('never serves an untagged state, but keeps its answer time (a storage that reads every time)', () => {
    const t = new PinPollTable();
    t.store('ABCDE', pending('ABCDE'), T, false);
    assert.equal(t.fresh('ABCDE'), undefined);
    t.noteAnswered('ABCDE', T + 1);
    assert.equal(t.store('ABCDE', pending('ABCDE'), T + 2, false)?.answeredAt, T + 1);
  });

  it('follows the writes a storage names: first poll, grant, and a PIN gone or replaced', () => {
    const t = new PinPollTable();
    t.store('ABCDE', pending('ABCDE'), T, true);
    t.noteAnswered('ABCDE', T + 1);
    t.setPolled('ABCDE', T + 1);
    t.setGrant('ABCDE', 9);
    assert.deepEqual(t.fresh('ABCDE'), { ...pending('ABCDE'), grantId: 9, lastPolledAt: T + 1, answeredAt: T + 1 });
    t.forget('ABCDE');
    assert.equal(t.fresh('ABCDE'), undefined);
    assert.equal(t.store('ABCDE', pending('ABCDE'), T + 2, true)?.answeredAt, NONE, 'a new PIN with the code starts unanswered');
    t.noteAnswered('ABCDE', T + 3);
    assert.equal(t.store('ABCDE', null, T + 4, true), null, 'no PIN holds the code any more');
    assert.equal(t.fresh('ABCDE'), undefined);
    assert.equal(t.store('ABCDE', pending('ABCDE'), T + 5, true)?.answeredAt, NONE);
  });

  it('makes no row for a code no PIN holds, nor for text that is no well-formed code', () => {
    const t = new PinPollTable();
    assert.equal(t.store('ABCDE', null, T, true), null);
    t.noteAnswered('ABCDE', T);
    t.setGrant('ABCDE', 1);
    assert.equal(t.size, 0);
    const odd = pending('PIN12_ab');
    assert.deepEqual(t.store('PIN12_ab', odd, T, true), { ...odd, answeredAt: NONE });
    t.noteAnswered('PIN12_ab', T);
    assert.equal(t.fresh('PIN12_ab'), undefined);
    assert.equal(t.size, 0);
  });

  it('holds 100,000 codes, each with its own state and answer time', () => {
    const t = new PinPollTable();
    for (let n = 0; n < 100_000; n += 1) {
      const code = codeOf(n * 211);
      t.store(code, pending(code, T + 900_000, n), T, true);
      t.noteAnswered(code, T + n);
    }
    assert.equal(t.size, 100_000);
    for (let n = 0; n < 100_000; n += 1) {
      const held = t.fresh(codeOf(n * 211));
      assert.ok(held && held.appId === n && held.answeredAt === T + n, `code ${n}`);
    }
    assert.equal(t.fresh(codeOf(5)), undefined);
  });

  it('notes an answer on the row of the code it names, whichever code was read last, across rebuilds', () => {
    const t = new PinPollTable();
    for (let n = 0; n < 600; n += 1) t.store(codeOf(n), pending(codeOf(n)), T, true);
    assert.ok(t.fresh(codeOf(1)));
    t.noteAnswered(codeOf(2), T + 2);
    t.noteAnswered(codeOf(1), T + 1);
    // Grows past its first size: rows move; the last code stored is noted on its new row.
    for (let n = 600; n < 5_000; n += 1) t.store(codeOf(n), pending(codeOf(n)), T, true);
    t.noteAnswered(codeOf(4_999), T + 3);
    t.noteAnswered(codeOf(0), T + 4);
    const answered = new Map([[0, T + 4], [1, T + 1], [2, T + 2], [4_999, T + 3]]);
    for (let n = 0; n < 5_000; n += 1) assert.equal(t.fresh(codeOf(n))?.answeredAt, answered.get(n) ?? NONE, `code ${n}`);
  });

  it('drops the rows of expired PINs when it fills, and keeps the live ones with their answer times', () => {
    const t = new PinPollTable();
    for (let n = 0; n < 50_000; n += 1) t.store(codeOf(n), pending(codeOf(n), T + 10), T, true);
    t.noteAnswered(codeOf(1), T + 1);
    // Later, many more live PINs: the table fills and is rebuilt with only these.
    for (let n = 50_000; n < 150_000; n += 1) t.store(codeOf(n), pending(codeOf(n)), T + 20, true);
    t.noteAnswered(codeOf(60_000), T + 21);
    for (let n = 150_000; n < 250_000; n += 1) t.store(codeOf(n), pending(codeOf(n)), T + 30, true);
    assert.ok(t.size <= 200_000 + 1, `rows in use: ${t.size}`);
    assert.equal(t.fresh(codeOf(0)), undefined);
    assert.equal(t.fresh(codeOf(1)), undefined, 'expired, so dropped with its answer time');
    assert.equal(t.fresh(codeOf(60_000))?.answeredAt, T + 21);
    assert.equal(t.fresh(codeOf(249_999))?.appId, 7);
  });

  it('starts over rather than grow past its bound: memory stays bounded and nothing wrong is served', () => {
    const t = new PinPollTable();
    for (let n = 0; n < 400_000; n += 1) t.store(codeOf(n), pending(codeOf(n), T + 900_000, n), T, true);
    assert.ok(t.size < 400_000, `rows in use: ${t.size}`);
    for (let n = 0; n < 400_000; n += 997) {
      const held = t.fresh(codeOf(n));
      assert.ok(held === undefined || held.appId === n, `code ${n}`);
    }
    assert.equal(t.fresh(codeOf(399_999))?.appId, 399_999);
  });
});
