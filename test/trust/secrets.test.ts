/**
 * Hashing, random tokens, constant-time comparison and scrypt password hashes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  constantTimeEqual,
  createSha256,
  hashPassword,
  randomId,
  randomToken,
  sha256Hex,
  verifyPassword,
} from '../../src/trust/index.js';

const fast = { cost: { N: 1024, r: 8, p: 1 } };

describe('digests and secrets', () => {
  it('sha256Hex matches the FIPS 180-2 "abc" vector and the streaming hash (property)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const stream = createSha256();
        chunks.forEach((chunk) => stream.update(chunk));
        expect(stream.digestHex()).toBe(sha256Hex(Buffer.concat(chunks)));
      }),
    );
  });

  it('randomToken is base64url of the requested length; randomId is 32 hex digits', () => {
    expect(randomToken()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken(16)).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(randomId()).toMatch(/^[0-9a-f]{32}$/);
    expect(randomId()).not.toBe(randomId());
    expect(() => randomToken(0)).toThrow(RangeError);
  });

  it('constantTimeEqual is string equality (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a)).toBe(true);
      }),
    );
  });

  it('hashPassword is self-describing and verifies only the right password', async () => {
    const stored = await hashPassword('correct horse', fast);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse', stored)).toBe(true);
    expect(await verifyPassword('correct horse!', stored)).toBe(false);
    expect(await hashPassword('correct horse', fast)).not.toBe(stored);
  });

  it('uses scrypt N=2^15 r=8 p=1 by default', async () => {
    const stored = await hashPassword('pw');
    expect(stored.startsWith('scrypt$32768$8$1$')).toBe(true);
    expect(await verifyPassword('pw', stored)).toBe(true);
  });

  it('refuses a malformed or overly costly stored hash instead of returning false (ERR_PAYLOAD_INVALID)', async () => {
    await expect(verifyPassword('pw', 'plain')).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
    const stored = await hashPassword('pw', fast);
    const costly = stored.replace('scrypt$1024$', 'scrypt$1073741824$');
    await expect(verifyPassword('pw', costly)).rejects.toMatchObject({ code: 'ERR_PAYLOAD_INVALID' });
  });
});
