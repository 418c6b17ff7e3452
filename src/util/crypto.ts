import * as nodeCrypto from 'node:crypto';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Node's one-shot digest (20.12 and later): about a third of the cost of a Hash object,
 * and this runs on every API call (bench/README.md). Older Node 20 releases lack it.
 */
const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

/** Hex SHA-256. Used to store high-entropy secrets (tokens, codes, client secrets) so a database copy is useless. */
export function sha256Hex(value: string): string {
  if (oneShot) return oneShot('sha256', value, 'hex');
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function hmacHex(key: string | Buffer, value: string): string {
  return createHmac('sha256', key).update(value, 'utf8').digest('hex');
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function randomBase64Url(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Constant-time string comparison. Both sides are hashed first so the comparison
 * takes the same time whatever the lengths (timingSafeEqual needs equal lengths).
 */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
