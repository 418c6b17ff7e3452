import { Redis } from 'ioredis';
import { MemoryRateLimiter, type RateLimiter, type RateResult } from './limiter.js';

/**
 * One fixed window per key, counted in Redis so every instance sharing the Redis counts
 * together. INCR and the expiry are one Lua script, so the count and its window can never
 * come apart (a plain INCR followed by PEXPIRE could leave a key that never expires if the
 * process died between the two). The window starts at the first hit and lasts windowMs;
 * PTTL tells how long is left, from the Redis server's clock, so instances with slightly
 * different clocks still agree.
 */
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
`;

type RedisWithHit = Redis & { keyfobHit(key: string, windowMs: number): Promise<[number, number]> };

export interface RedisLimiterOptions {
  /** Prepended to every key (KEYFOB_REDIS_PREFIX), so deployments and test runs sharing a Redis stay apart. */
  prefix: string;
  /** Clock for the per-process fallback counters. */
  now?: () => number;
  /** Told when Redis goes away (err set) and when it is back (err null); for logging. */
  onStateChange?: (err: Error | null) => void;
  /** Milliseconds to wait for the first connection at start-up. */
  connectTimeoutMs?: number;
}

/**
 * Rate limits that hold across instances (docs/decisions/0022). While Redis cannot be
 * reached, each instance falls back to counting in its own memory: limits get looser by
 * at most the number of instances, but keyfob keeps serving and never waits on Redis.
 * ioredis reconnects in the background and the shared counts resume by themselves.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly fallback: MemoryRateLimiter;
  private down = false;

  private constructor(
    private readonly redis: RedisWithHit,
    private readonly opts: RedisLimiterOptions,
  ) {
    this.fallback = new MemoryRateLimiter(opts.now ?? Date.now);
  }

  /** Connects (waiting at most connectTimeoutMs); starts in fallback mode if Redis is not there yet. */
  static async connect(url: string, opts: RedisLimiterOptions): Promise<RedisRateLimiter> {
    const redis = new Redis(url, {
      lazyConnect: true,
      // Fail a command at once while disconnected instead of queueing it: a request must not wait on Redis.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: opts.connectTimeoutMs ?? 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    }) as RedisWithHit;
    redis.defineCommand('keyfobHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    const limiter = new RedisRateLimiter(redis, opts);
    // ioredis reports connection trouble as 'error' events; an unhandled one would end the process.
    redis.on('error', (err: Error) => limiter.markDown(err));
    redis.on('ready', () => limiter.markUp());
    try {
      await redis.connect();
    } catch (err) {
      limiter.markDown(err as Error);
    }
    return limiter;
  }

  private key(key: string): string {
    return `${this.opts.prefix}rl:${key}`;
  }

  private markDown(err: Error): void {
    if (this.down) return;
    this.down = true;
    this.opts.onStateChange?.(err);
  }

  private markUp(): void {
    if (!this.down) return;
    this.down = false;
    this.opts.onStateChange?.(null);
  }

  /** True while Redis answers (for tests and health reporting). */
  get shared(): boolean {
    return !this.down && this.redis.status === 'ready';
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateResult> {
    try {
      const [count, ttl] = await this.redis.keyfobHit(this.key(key), Math.max(1, Math.ceil(windowMs)));
      this.markUp();
      return { allowed: count <= limit, remaining: Math.max(0, limit - count), resetMs: Math.max(0, ttl) };
    } catch (err) {
      this.markDown(err as Error);
      return this.fallback.hit(key, limit, windowMs);
    }
  }

  async peek(key: string, windowMs: number): Promise<number> {
    try {
      const v = await this.redis.get(this.key(key));
      this.markUp();
      return v === null ? 0 : Number(v);
    } catch (err) {
      this.markDown(err as Error);
      return this.fallback.peek(key, windowMs);
    }
  }

  async reset(key: string): Promise<void> {
    await this.fallback.reset(key);
    try {
      await this.redis.del(this.key(key));
    } catch (err) {
      this.markDown(err as Error);
    }
  }

  async close(): Promise<void> {
    await this.fallback.close();
    if (this.redis.status === 'ready') await this.redis.quit().catch(() => undefined);
    this.redis.disconnect();
  }
}
