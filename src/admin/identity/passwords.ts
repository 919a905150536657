import { hashPassword, maxPasswordBytes, randomToken, verifyPassword } from '../../trust/index.js';
import { InvalidRequestError } from '../../site/site-errors.js';
import { WeakPasswordError } from './admin-errors.js';

/** Shortest new password accepted, in characters (Unicode code points after NFC). */
export const minPasswordLength = 12;

/** Refuses a new password that is too short or too long, then hashes it with scrypt. */
export async function hashNewPassword(password: string): Promise<string> {
  if (Array.from(password.normalize('NFC')).length < minPasswordLength) {
    throw new WeakPasswordError(`A password must be at least ${minPasswordLength} characters long.`);
  }
  if (Buffer.byteLength(password, 'utf8') > maxPasswordBytes) {
    throw new InvalidRequestError(`A password must be at most ${maxPasswordBytes} bytes long.`);
  }
  return hashPassword(password);
}

let dummyHash: Promise<string> | undefined;

/**
 * Spends the same scrypt work as a real check when there is no stored hash to check against
 * (unknown account, directory-only account), so response time does not reveal which names exist.
 * The dummy hash is of a random secret nobody knows; only this process's default cost is cached.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword(randomToken());
  await verifyPassword(password, await dummyHash);
  return false;
}
