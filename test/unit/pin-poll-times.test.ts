import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PinPollTimes } from '../../src/oauth/grants/pin-poll-times.js';

/** The in-memory "Slow down" clock (decision 0080): it keeps only what the 1 s rule can still use. */
describe('PinPollTimes', () => {
  it('remembers the last answer per code', () => {
    const t = new PinPollTimes(1000);
    t.set('AAAAA', 5000);
    t.set('BBBBB', 5100);
    t.set('AAAAA', 5200);
    assert.equal(t.get('AAAAA'), 5200);
    assert.equal(t.get('BBBBB'), 5100);
    assert.equal(t.get('CCCCC'), undefined);
    t.delete('AAAAA');
    assert.equal(t.get('AAAAA'), undefined);
  });

  it('reads back the exact time of an answer kept in the older generation', () => {
    const t = new PinPollTimes(1000);
    t.set('AAAAA', 1_700_000_000_000);
    t.set('BBBBB', 1_700_000_000_250);
    t.set('CCCCC', 1_700_000_001_100); // a gap has passed: A and B are now the older generation
    assert.equal(t.get('AAAAA'), 1_700_000_000_000);
    assert.equal(t.get('BBBBB'), 1_700_000_000_250);
    assert.equal(t.get('CCCCC'), 1_700_000_001_100);
    t.set('DDDDD', 1_700_000_002_200); // another gap: A and B are gone, C is older
    assert.equal(t.get('AAAAA'), undefined);
    assert.equal(t.get('CCCCC'), 1_700_000_001_100);
  });

  it('keeps at most about two gaps of answers, so 100,000 codes polled once leave few entries behind', () => {
    const t = new PinPollTimes(1000);
    for (let i = 0; i < 100_000; i += 1) t.set(`C${i}`, i / 10); // 10 s of polls, 10,000 a second
    assert.ok(t.size <= 20_001, `kept ${t.size}`);
    assert.equal(t.get('C0'), undefined);
    assert.equal(t.get('C99999'), 9999.9);
  });

  it('drops entries from the future when the clock goes back', () => {
    const t = new PinPollTimes(1000);
    t.set('AAAAA', 10_000);
    t.set('BBBBB', 2_000);
    assert.equal(t.get('AAAAA'), undefined);
    assert.equal(t.get('BBBBB'), 2_000);
  });
});
