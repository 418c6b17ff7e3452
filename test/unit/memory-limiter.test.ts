import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryRateLimiter } from '../../src/ratelimit/limiter.js';

describe('memory rate limiter', () => {
  it('peekNow reads what peek reads, without counting, and forgets a window once it ends', async () => {
    let t = 60_000;
    const limiter = new MemoryRateLimiter(() => t);
    assert.equal(limiter.peekNow('k', 60_000), 0);
    limiter.hitNow('k', Infinity, 60_000);
    await limiter.hit('k', Infinity, 60_000);
    assert.equal(limiter.peekNow('k', 60_000), 2);
    assert.equal(await limiter.peek('k', 60_000), 2);
    assert.equal(limiter.peekNow('k', 60_000), 2);
    t += 60_000;
    assert.equal(limiter.peekNow('k', 60_000), 0);
    assert.equal(await limiter.peek('k', 60_000), 0);
  });
});
