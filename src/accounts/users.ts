import type { Storage, User } from '../storage/storage.js';
import { ConflictError } from '../storage/storage.js';
import type { Clock } from '../util/clock.js';
import { hashPassword, verifyPassword } from './passwords.js';

/** A problem with what a person typed, tied to the field it concerns (shown next to that field). */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'FieldError';
  }
}

const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
export const MIN_PASSWORD = 8;
const MAX_PASSWORD = 256;

export function checkUsername(username: string): void {
  if (!USERNAME.test(username)) throw new FieldError('username', 'Use 3 to 32 letters, digits, dots, dashes or underscores.');
}

export function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw new FieldError('password', `Use at least ${MIN_PASSWORD} characters.`);
  if (password.length > MAX_PASSWORD) throw new FieldError('password', `Use at most ${MAX_PASSWORD} characters.`);
}

export async function createUser(storage: Storage, clock: Clock, input: { username: string; password: string }): Promise<User> {
  checkUsername(input.username);
  checkPassword(input.password);
  const passwordHash = await hashPassword(input.password);
  try {
    return await storage.createUser({ username: input.username, passwordHash, createdAt: clock.now() });
  } catch (err) {
    if (err instanceof ConflictError) throw new FieldError('username', 'That username is taken.');
    throw err;
  }
}

/** Returns the user when the password is right, else null; the same work is done either way. */
export async function verifyCredentials(storage: Storage, username: string, password: string): Promise<User | null> {
  const user = username.length <= 64 && password.length <= MAX_PASSWORD ? await storage.findUserByUsername(username) : null;
  const ok = await verifyPassword(user ? user.passwordHash : null, password.slice(0, MAX_PASSWORD));
  return ok && user ? user : null;
}
