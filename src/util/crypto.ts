import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, randomBytes, randomFillSync, timingSafeEqual, type KeyObject } from 'node:crypto';

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

/** `key` as a KeyObject where the same key signs again and again: its bytes are not read from a string per call. */
export function hmacHex(key: string | Buffer | KeyObject, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
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

/**
 * Whether `secret` hashes to `hexDigest`, a stored sha256Hex, compared in constant time.
 * Both sides are already 32 bytes, so unlike safeEqual nothing is hashed again: one digest
 * instead of three on every confidential client's token request. A stored digest that is
 * not 64 hex digits matches nothing.
 */
export function secretMatchesHash(secret: string, hexDigest: string): boolean {
  if (hexDigest.length !== 64 || right.write(hexDigest, 0, 'hex') !== 32) return false;
  if (oneShot) left.write(oneShot('sha256', secret, 'latin1'), 0, 'latin1');
  else createHash('sha256').update(secret, 'utf8').digest().copy(left);
  return timingSafeEqual(left, right);
}
