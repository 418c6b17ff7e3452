import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { RedisRateLimiter } from '../../src/ratelimit/redis-limiter.js';
import { freePort } from '../helpers/keyfob.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { adminRedis, dropRedisPrefix, freshRedisPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

describe('RedisRateLimiter', () => {
  const prefix = freshRedisPrefix('limiter');
  const opened: RedisRateLimiter[] = [];
  const open = async (p = prefix, url = TEST_REDIS_URL, onStateChange?: (err: Error | null) => void) => {
    const l = await RedisRateLimiter.connect(url, { prefix: p, connectTimeoutMs: 500, ...(onStateChange ? { onStateChange } : {}) });
    opened.push(l);
    return l;
  };
  after(async () => {
    for (const l of opened) await l.close();
    await dropRedisPrefix(prefix);
  });

  it('two limiters sharing a Redis and a prefix enforce one limit together', async () => {
    const a = await open();
    const b = await open();
    assert.equal(a.shared, true);
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await (i % 2 ? b : a).hit('k1', 5, 60_000));
    assert.deepEqual(
      results.map((r) => r.allowed),
      [true, true, true, true, true, false],
    );
    assert.deepEqual(
      results.map((r) => r.remaining),
      [4, 3, 2, 1, 0, 0],
    );
    for (const r of results) assert.ok(r.resetMs > 0 && r.resetMs <= 60_000, `resetMs ${r.resetMs}`);
    assert.equal(await a.peek('k1', 60_000), 6);
    assert.equal(await b.peek('k1', 60_000), 6);
    assert.equal(await a.peek('never-hit', 60_000), 0);
  });

  it('every counter expires with its window (the count and the expiry are set together)', async () => {
    const a = await open();
    await a.hit('k2', 10, 30_000);
    const r = adminRedis();
    try {
      const ttl = await r.pttl(`${prefix}rl:k2`);
      assert.ok(ttl > 0 && ttl <= 30_000, `pttl ${ttl}`);
    } finally {
      r.disconnect();
    }
  });

  it('reset on one instance clears the count for all', async () => {
    const a = await open();
    const b = await open();
    await a.hit('k3', 1, 60_000);
    assert.equal((await b.hit('k3', 1, 60_000)).allowed, false);
    await b.reset('k3');
    assert.equal(await a.peek('k3', 60_000), 0);
    assert.equal((await a.hit('k3', 1, 60_000)).allowed, true);
  });

  it('different prefixes (deployments) never share counts', async () => {
    const other = freshRedisPrefix('other');
    const a = await open();
    const b = await open(other);
    try {
      await a.hit('k4', 1, 60_000);
      assert.equal((await b.hit('k4', 1, 60_000)).allowed, true);
    } finally {
      await dropRedisPrefix(other);
    }
  });

  it('counts an unbounded limit (sign-in failures) and reads it with peek', async () => {
    const a = await open();
    for (let i = 0; i < 3; i++) assert.equal((await a.hit('k5', Infinity, 60_000)).allowed, true);
    assert.equal(await a.peek('k5', 60_000), 3);
  });

  it('without a reachable Redis it counts per process at once, never waiting, and says so', async () => {
    const events: Array<Error | null> = [];
    const port = await freePort();
    const started = Date.now();
    const l = await open(prefix, `redis://127.0.0.1:${port}`, (e) => events.push(e));
    assert.equal(l.shared, false);
    const r = [await l.hit('k6', 2, 60_000), await l.hit('k6', 2, 60_000), await l.hit('k6', 2, 60_000)];
    assert.deepEqual(
      r.map((x) => x.allowed),
      [true, true, false],
    );
    assert.equal(await l.peek('k6', 60_000), 3);
    assert.ok(Date.now() - started < 3000, 'no request waited on the missing Redis');
    assert.equal(events.length, 1, 'the outage is reported once');
    assert.ok(events[0] instanceof Error);
  });

  it('goes back to shared counting by itself when Redis returns, without a restart', async () => {
    const target = new URL(TEST_REDIS_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    const port = await proxy.start();
    const events: Array<Error | null> = [];
    const viaProxy = await open(prefix, `redis://127.0.0.1:${port}`, (e) => events.push(e));
    const direct = await open();
    try {
      assert.equal((await viaProxy.hit('k7', 100, 60_000)).allowed, true);
      await proxy.cut();
      // Counted locally while Redis is away: the shared count does not move.
      await viaProxy.hit('k7', 100, 60_000);
      assert.equal(await direct.peek('k7', 60_000), 1);
      assert.equal(viaProxy.shared, false);
      await proxy.start();
      // ioredis reconnects on its own (back-off at most 2 s); wait for it, bounded.
      for (let i = 0; i < 100 && !viaProxy.shared; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(viaProxy.shared, true);
      await viaProxy.hit('k7', 100, 60_000);
      assert.equal(await direct.peek('k7', 60_000), 2);
      assert.deepEqual(
        events.map((e) => (e === null ? 'up' : 'down')),
        ['down', 'up'],
      );
    } finally {
      await viaProxy.close();
      await proxy.cut();
    }
  });
});
