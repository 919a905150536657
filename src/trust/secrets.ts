/**
 * Random tokens and ids, constant-time comparison, and scrypt password hashes for local admin
 * accounts (DESIGN.md section 7). Stored hashes describe themselves: `scrypt$N$r$p$salt$hash`
 * with salt and hash in base64url.
 */
import { randomBytes, scrypt, timingSafeEqual, createHash } from 'node:crypto';
import { algorithms, isAcceptableScryptCost, scryptMaxmem, type ScryptCost } from './algorithms.js';
import { PayloadInvalidError } from './trust-errors.js';

/** C6: longest password accepted, in UTF-8 bytes. */
export const maxPasswordBytes = 1024;

/** A random token in base64url (enrolment tokens, join tokens, API tokens). */
export function randomToken(bytes = 32): string {
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 1024) {
    throw new RangeError('randomToken: bytes must be an integer from 1 to 1024');
  }
  return randomBytes(bytes).toString('base64url');
}

/** A random id: 16 random bytes in lowercase hex. */
export function randomId(): string {
  return randomBytes(16).toString('hex');
}

/** Compares two strings in time independent of where they differ and of their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  const digestA = createHash(algorithms.digest.name).update(a, 'utf8').digest();
  const digestB = createHash(algorithms.digest.name).update(b, 'utf8').digest();
  return timingSafeEqual(digestA, digestB) && a === b;
}

function derive(password: string, salt: Uint8Array, cost: ScryptCost): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      password.normalize('NFC'),
      salt,
      algorithms.kdf.keyBytes,
      { ...cost, maxmem: scryptMaxmem(cost) },
      (error, key) => {
        if (error) reject(error);
        else resolve(key);
      },
    );
  });
}

/** Hashes a password with scrypt; `cost` exists so tests can run fast. */
export async function hashPassword(password: string, options: { cost?: ScryptCost } = {}): Promise<string> {
  const cost = options.cost ?? algorithms.kdf.defaultCost;
  if (!isAcceptableScryptCost(cost)) throw new RangeError('hashPassword: unacceptable scrypt cost');
  if (Buffer.byteLength(password, 'utf8') > maxPasswordBytes) {
    throw new PayloadInvalidError(`Password is longer than ${maxPasswordBytes} bytes.`);
  }
  const salt = randomBytes(algorithms.kdf.saltBytes);
  const hash = await derive(password, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

const storedShape = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,128})\$([A-Za-z0-9_-]{43})$/;

/**
 * Checks a password against a stored hash. A malformed stored hash is an error (not `false`), so a
 * corrupted account is noticed rather than silently locked.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = storedShape.exec(stored);
  const [, n, r, p, salt, hash] = match ?? [];
  if (n === undefined || r === undefined || p === undefined || salt === undefined || hash === undefined) {
    throw new PayloadInvalidError('Stored password hash is not in the form scrypt$N$r$p$salt$hash.');
  }
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (!isAcceptableScryptCost(cost)) {
    throw new PayloadInvalidError('Stored password hash uses scrypt parameters outside the accepted range.');
  }
  if (Buffer.byteLength(password, 'utf8') > maxPasswordBytes) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), cost);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
