import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, randomBytes, randomFillSync, timingSafeEqual } from 'node:crypto';

/**
 * Node's one-shot digest (20.12 and later): about a third of the cost of a Hash object,
 * and this runs on every API call (bench/README.md). Older Node 20 releases lack it.
 * Its 'buffer' output costs twice its string outputs, so digests wanted as bytes are
 * taken as latin1 (one character per byte) and written into a buffer.
 */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex' | 'latin1' | 'base64url') => string }).hash;

/** Hex SHA-256. Used to store high-entropy secrets (tokens, codes, client secrets) so a database copy is useless. */
export function sha256Hex(value: string): string {
  if (oneShot) return oneShot('sha256', value, 'hex');
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Base64url SHA-256 of a UTF-8 string (the PKCE S256 transform, RFC 7636 §4.2). */
export function sha256Base64Url(value: string): string {
  if (oneShot) return oneShot('sha256', value, 'base64url');
  return createHash('sha256').update(value, 'utf8').digest('base64url');
}

/** HMAC-SHA256's block size (RFC 2104 §2: B = 64 for SHA-256). */
const BLOCK = 64;
/** Longest message, in UTF-16 units, taken on the fast path: a unit is at most 3 bytes of UTF-8. */
const MAX_FAST_MESSAGE = 170;

/**
 * The padded keys of the last string key seen: the server secret, which derives every V1
 * token. `inner` is K ^ ipad followed by room for the message, `outer` is K ^ opad followed
 * by room for the inner digest.
 */
let padded: { key: string; inner: Buffer; outer: Buffer } | null = null;

function paddedKey(key: string): { inner: Buffer; outer: Buffer } {
  if (padded !== null && padded.key === key) return padded;
  let k = Buffer.from(key, 'utf8');
  if (k.length > BLOCK) k = createHash('sha256').update(k).digest();
  const inner = Buffer.alloc(BLOCK + MAX_FAST_MESSAGE * 3);
  const outer = Buffer.alloc(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    const byte = i < k.length ? k[i]! : 0;
    inner[i] = byte ^ 0x36;
    outer[i] = byte ^ 0x5c;
  }
  padded = { key, inner, outer };
  return padded;
}

/**
 * Hex HMAC-SHA256. With the one-shot digest it is computed as RFC 2104 §2 defines it,
 * H(K ^ opad || H(K ^ ipad || text)), from padded keys made once per key: half the cost
 * of a Hmac object, and one runs on every code exchange (the token is derived). The
 * result is the same as createHmac's (test/unit/crypto.test.ts compares them).
 */
export function hmacHex(key: string | Buffer, value: string): string {
  if (!oneShot || typeof key !== 'string' || value.length > MAX_FAST_MESSAGE) {
    return createHmac('sha256', key).update(value, 'utf8').digest('hex');
  }
  const { inner, outer } = paddedKey(key);
  const length = inner.write(value, BLOCK, 'utf8');
  outer.write(oneShot('sha256', inner.subarray(0, BLOCK + length), 'latin1'), BLOCK, 'latin1');
  return oneShot('sha256', outer, 'hex');
}

/**
 * Random bytes are drawn from a pool filled by one randomFillSync call and refilled when
 * used up: one call into the system's generator per 128 seeds instead of one per seed
 * (the same pooling Node applies to randomUUID). Bytes are handed out once, then zeroed.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolUsed = POOL_BYTES;

function fromPool(bytes: number, encoding: 'hex' | 'base64url'): string {
  if (bytes > POOL_BYTES) return randomBytes(bytes).toString(encoding);
  if (poolUsed + bytes > POOL_BYTES) {
    randomFillSync(pool);
    poolUsed = 0;
  }
  const start = poolUsed;
  poolUsed += bytes;
  const out = pool.toString(encoding, start, poolUsed);
  pool.fill(0, start, poolUsed);
  return out;
}

export function randomHex(bytes: number): string {
  return fromPool(bytes, 'hex');
}

export function randomBase64Url(bytes: number): string {
  return fromPool(bytes, 'base64url');
}

/** Both sides' digests, compared in place. */
const left = Buffer.alloc(32);
const right = Buffer.alloc(32);

/**
 * Constant-time string comparison. Both sides are hashed first so the comparison
 * takes the same time whatever the lengths (timingSafeEqual needs equal lengths).
 */
export function safeEqual(a: string, b: string): boolean {
  if (!oneShot) {
    return timingSafeEqual(createHash('sha256').update(a, 'utf8').digest(), createHash('sha256').update(b, 'utf8').digest());
  }
  left.write(oneShot('sha256', a, 'latin1'), 0, 'latin1');
  right.write(oneShot('sha256', b, 'latin1'), 0, 'latin1');
  return timingSafeEqual(left, right);
}
