import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PinPollTimes } from '../../src/oauth/grants/pin-poll-times.js';

/** The in-memory "Slow down" clocks (decisions 0080, 0090): one per code, kept by generation. */
describe('PinPollTimes', () => {
  it('gives each code one clock, unset at first, that keeps what was written to it', () => {
    const t = new PinPollTimes(30_000);
    const a = t.clockOf('AAAAA', 5000);
    assert.equal(a.at, Number.NEGATIVE_INFINITY);
    a.at = 5000;
    t.clockOf('BBBBB', 5100).at = 5100;
    assert.equal(t.clockOf('AAAAA', 5200), a, 'the same clock, not a copy');
    assert.equal(t.clockOf('AAAAA', 5200).at, 5000);
    assert.equal(t.clockOf('BBBBB', 5200).at, 5100);
    assert.equal(t.clockOf('CCCCC', 5200).at, Number.NEGATIVE_INFINITY);
    t.delete('AAAAA');
    assert.equal(t.clockOf('AAAAA', 5300).at, Number.NEGATIVE_INFINITY);
  });

  it('carries a clock from the older generation into the new one, and drops codes not asked about for two generations', () => {
    const t = new PinPollTimes(1000);
    t.clockOf('AAAAA', 1_700_000_000_000).at = 1_700_000_000_000;
    t.clockOf('BBBBB', 1_700_000_000_250).at = 1_700_000_000_250;
    // A generation has passed: A and B are in the older one, and asking for A moves it on.
    assert.equal(t.clockOf('AAAAA', 1_700_000_001_100).at, 1_700_000_000_000);
    // Another: B, not asked about since, is gone; A was carried and is still there.
    assert.equal(t.clockOf('AAAAA', 1_700_000_002_200).at, 1_700_000_000_000);
    assert.equal(t.clockOf('BBBBB', 1_700_000_002_200).at, Number.NEGATIVE_INFINITY);
  });

  it('keeps at most two generations of codes, so 100,000 codes polled once leave few entries behind', () => {
    const t = new PinPollTimes(1000);
    for (let i = 0; i < 100_000; i += 1) t.clockOf(`C${i}`, i / 10).at = i / 10; // 10 s of polls, 10,000 a second
    assert.ok(t.size <= 20_001, `kept ${t.size}`);
    assert.equal(t.clockOf('C0', 10_000).at, Number.NEGATIVE_INFINITY);
    assert.equal(t.clockOf('C99999', 10_000).at, 9999.9);
  });

  it('forgets everything when the clock goes back', () => {
    const t = new PinPollTimes(1000);
    t.clockOf('AAAAA', 10_000).at = 10_000;
    assert.equal(t.clockOf('AAAAA', 2_000).at, Number.NEGATIVE_INFINITY);
    assert.equal(t.size, 1);
  });
});
