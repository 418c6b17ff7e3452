import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use (scripts/test-setup.sh starts it). KEYFOB_TEST_REDIS_URL points elsewhere. */
export const TEST_REDIS_URL = process.env.KEYFOB_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix no other test run uses. */
export function freshRedisPrefix(label = 't'): string {
  return `keyfob-test:${label}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** A plain client for looking at keys from outside keyfob. */
export function adminRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** Deletes every key under a prefix. */
export async function dropRedisPrefix(prefix: string): Promise<void> {
  const r = adminRedis();
  try {
    const keys = await r.keys(`${prefix}*`);
    if (keys.length > 0) await r.del(...keys);
  } finally {
    r.disconnect();
  }
}
