import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as nextCheckPhase } from 'node:timers/promises';
import { currentPollPhase, REQUESTS_PER_NUMBER, requestArrived } from '../../src/util/poll-phase.js';

/** Decision 0084: a poll phase is known from its first request until the check phase after it. */
describe('poll phase', () => {
  it('is unknown (0) until a request arrives', async () => {
    await nextCheckPhase();
    assert.equal(currentPollPhase(), 0);
  });

  it('keeps one number for every request of a phase, ends in the check phase, and the next phase has a new number', async () => {
    await nextCheckPhase();
    requestArrived();
    const first = currentPollPhase();
    assert.ok(first > 0);
    requestArrived();
    await Promise.resolve();
    assert.equal(currentPollPhase(), first, 'a second request and a microtask stay in the phase');
    await nextCheckPhase();
    assert.equal(currentPollPhase(), 0, 'the check phase ended it');
    requestArrived();
    assert.ok(currentPollPhase() > first);
    await nextCheckPhase();
  });

  it('takes a new number every REQUESTS_PER_NUMBER requests, so a probe is reused by at most that many', async () => {
    await nextCheckPhase();
    requestArrived();
    const first = currentPollPhase();
    for (let i = 1; i < REQUESTS_PER_NUMBER; i += 1) requestArrived();
    assert.equal(currentPollPhase(), first, `${REQUESTS_PER_NUMBER} requests share a number`);
    requestArrived();
    assert.equal(currentPollPhase(), first + 1, 'the next one starts a new number');
    await nextCheckPhase();
    assert.equal(currentPollPhase(), 0);
  });

  it('is unknown in a timer callback that runs after a phase', async () => {
    requestArrived();
    const inTimer = await new Promise<number>((resolve) => setTimeout(() => resolve(currentPollPhase()), 5));
    assert.equal(inTimer, 0);
  });
});
