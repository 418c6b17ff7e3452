import argon2 from 'argon2';

/**
 * Passwords are hashed with Argon2id (memory-hard, RFC 9106), with the library's
 * defaults: 64 MiB, 3 passes, 4 lanes.
 */
export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}

/** A hash of a random password, verified against when the user does not exist, so timing does not reveal accounts. */
let dummyHash: Promise<string> | null = null;

export async function verifyPassword(hash: string | null, password: string): Promise<boolean> {
  if (hash === null) {
    dummyHash ??= hashPassword('keyfob-dummy-password-for-timing');
    await argon2.verify(await dummyHash, password).catch(() => false);
    return false;
  }
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}
