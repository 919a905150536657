/**
 * Keys, key ids and fingerprints: private material never shows, records are checked against their
 * bytes, typed fingerprints are parsed and matched leniently but exactly.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fingerprintOf,
  keyIdOf,
  matchesFingerprint,
  parseFingerprint,
  publicKeyFromRecord,
  SigningKey,
  type StewardError,
} from '../../src/trust/index.js';
import { exportPkcs8 } from '../../src/trust/keys.js';

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'no error';
}

describe('signing keys', () => {
  it('never show private key material in toString, JSON or inspect', () => {
    const key = SigningKey.generate();
    const pkcs8 = Buffer.from(exportPkcs8(key));
    const secretHex = pkcs8.subarray(16).toString('hex');
    const secretB64 = pkcs8.subarray(16).toString('base64');
    for (const text of [String(key), JSON.stringify(key), inspect(key, { showHidden: true, depth: 9 })]) {
      expect(text).toContain(key.fingerprint.slice(7, 20));
      expect(text).not.toContain(secretHex);
      expect(text).not.toContain(secretB64);
      expect(text).not.toMatch(/PRIVATE/);
    }
    expect(JSON.parse(JSON.stringify({ key })) as unknown).toEqual({ key: { keyId: key.keyId } });
    expect(Object.keys(key)).toEqual(['keyId', 'fingerprint']);
  });

  it('round-trips through PKCS#8 and signs deterministically (Ed25519)', () => {
    const key = SigningKey.generate();
    const again = SigningKey.fromPkcs8(exportPkcs8(key));
    expect(again.keyId).toBe(key.keyId);
    const data = Buffer.from('data');
    expect(Buffer.from(again.sign(data))).toEqual(Buffer.from(key.sign(data)));
    expect(key.verifyingKey().verify(data, key.sign(data))).toBe(true);
    expect(key.verifyingKey().verify(data, new Uint8Array(63))).toBe(false);
  });

  it('refuses PKCS#8 that is garbage (ERR_KEY_FILE)', () => {
    expect(codeOf(() => SigningKey.fromPkcs8(Buffer.from('not a key')))).toBe('ERR_KEY_FILE');
    expect(codeOf(() => SigningKey.fromSeed(new Uint8Array(31)))).toBe('ERR_KEY_FILE');
  });

  it('publicKeyFromRecord checks the key id against the bytes (ERR_PAYLOAD_INVALID)', () => {
    const record = SigningKey.generate().publicRecord();
    expect(publicKeyFromRecord(record).keyId).toBe(record.keyId);
    const other = SigningKey.generate().publicRecord();
    expect(codeOf(() => publicKeyFromRecord({ keyId: other.keyId, publicKey: record.publicKey }))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
    expect(codeOf(() => publicKeyFromRecord({ keyId: record.keyId, publicKey: 'AAAA' }))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
    expect(codeOf(() => publicKeyFromRecord({ ...record, extra: 1 } as never))).toBe('ERR_PAYLOAD_INVALID');
  });

  it('keyIdOf refuses a key that is not 32 bytes', () => {
    expect(codeOf(() => keyIdOf(new Uint8Array(33)))).toBe('ERR_PAYLOAD_INVALID');
  });
});

describe('fingerprints (C1 pins)', () => {
  it('format and parse agree, and a fingerprint matches its key id (property)', () => {
    fc.assert(
      fc.property(hex64, (keyId) => {
        const fingerprint = fingerprintOf(keyId);
        expect(fingerprint).toMatch(/^sha256:[0-9a-f]{32}$/);
        expect(parseFingerprint(fingerprint)).toBe(fingerprint);
        expect(parseFingerprint(fingerprint.toUpperCase())).toBe(fingerprint);
        expect(parseFingerprint(` ${fingerprint.slice(7)}\n`)).toBe(fingerprint);
        expect(parseFingerprint(keyId)).toBe(`sha256:${keyId}`);
        for (const typed of [
          fingerprint,
          fingerprint.slice(7),
          keyId,
          `sha256:${keyId}`,
          keyId.toUpperCase(),
        ]) {
          expect(matchesFingerprint(keyId, typed)).toBe(true);
        }
      }),
    );
  });

  it('does not match another key id (property)', () => {
    fc.assert(
      fc.property(hex64, hex64, (keyId, otherId) => {
        fc.pre(keyId.slice(0, 32) !== otherId.slice(0, 32));
        expect(matchesFingerprint(keyId, fingerprintOf(otherId))).toBe(false);
        expect(matchesFingerprint(keyId, otherId)).toBe(false);
      }),
    );
  });

  it('refuses malformed text and never throws from matchesFingerprint (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        const normal = /^(?:sha256:)?([0-9a-f]{32}|[0-9a-f]{64})$/.test(text.trim().toLowerCase());
        if (normal) expect(() => parseFingerprint(text)).not.toThrow();
        else expect(codeOf(() => parseFingerprint(text))).toBe('ERR_PAYLOAD_INVALID');
        expect(typeof matchesFingerprint('0'.repeat(64), text)).toBe('boolean');
      }),
    );
    for (const bad of [
      '',
      'sha256:',
      'sha256:abc',
      'md5:' + '0'.repeat(32),
      '0'.repeat(33),
      'g'.repeat(32),
    ]) {
      expect(codeOf(() => parseFingerprint(bad))).toBe('ERR_PAYLOAD_INVALID');
      expect(matchesFingerprint('0'.repeat(64), bad)).toBe(false);
    }
  });
});
