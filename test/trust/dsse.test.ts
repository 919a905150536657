/**
 * DSSE envelopes: encode/parse round trip, C6 limits before parsing, strict schema, and threshold
 * verification over distinct trusted keys.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeEnvelope,
  parseEnvelope,
  signEnvelope,
  verifyEnvelope,
  type Envelope,
  type StewardError,
} from '../../src/trust/index.js';
import { seededKey } from './support/pki.js';

const type = 'application/vnd.steward.test+json';
const [a, b, c] = [seededKey('dsse-a'), seededKey('dsse-b'), seededKey('dsse-c')];
const payload = Buffer.from('{"kind":"test"}');

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'no error';
}

describe('DSSE envelopes', () => {
  it('round-trips encode and parse for any payload and signer set (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.subarray([a, b, c], { minLength: 1 }),
        fc.stringMatching(/^[!-~]{1,64}$/),
        (bytes, signers, payloadType) => {
          const envelope = signEnvelope(payloadType, bytes, signers);
          const text = encodeEnvelope(envelope);
          const parsed = parseEnvelope(text);
          expect(parsed).toEqual(envelope);
          expect(encodeEnvelope(parsed)).toBe(text);
          expect(parseEnvelope(Buffer.from(text))).toEqual(envelope);
          const keys = signers.map((key) => key.verifyingKey());
          expect(Buffer.from(verifyEnvelope(parsed, keys, signers.length, payloadType))).toEqual(
            Buffer.from(bytes),
          );
        },
      ),
      { numRuns: 100 },
    );
  });

  it('encodes keys in the order payloadType, payload, signatures', () => {
    const text = encodeEnvelope(signEnvelope(type, payload, [a]));
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['payloadType', 'payload', 'signatures']);
  });

  it('C6 refuses an oversized envelope by byte length before JSON.parse (ERR_TOO_LARGE)', () => {
    const notJson = 'x'.repeat(2000);
    expect(codeOf(() => parseEnvelope(notJson, { maxBytes: 1000 }))).toBe('ERR_TOO_LARGE');
    expect(codeOf(() => parseEnvelope('é'.repeat(600), { maxBytes: 1000 }))).toBe('ERR_TOO_LARGE');
    expect(codeOf(() => parseEnvelope(Buffer.alloc(1024 * 1024 + 1)))).toBe('ERR_TOO_LARGE');
  });

  it('C6 refuses more signatures than the limit (ERR_ENVELOPE_INVALID)', () => {
    const envelope = signEnvelope(type, payload, [a, b, c]);
    expect(codeOf(() => parseEnvelope(encodeEnvelope(envelope), { maxSignatures: 2 }))).toBe(
      'ERR_ENVELOPE_INVALID',
    );
    const many = { ...envelope, signatures: Array.from({ length: 17 }, () => envelope.signatures[0]!) };
    expect(codeOf(() => parseEnvelope(JSON.stringify(many)))).toBe('ERR_ENVELOPE_INVALID');
  });

  it('refuses malformed envelopes (ERR_ENVELOPE_INVALID)', () => {
    const good = signEnvelope(type, payload, [a]);
    const sig = good.signatures[0]!;
    const cases: unknown[] = [
      'not json',
      '[]',
      { ...good, extra: 1 },
      { ...good, signatures: [] },
      { ...good, signatures: [{ ...sig, extra: 'x' }] },
      { ...good, signatures: [{ ...sig, keyid: sig.keyid.toUpperCase() }] },
      { ...good, signatures: [{ ...sig, keyid: sig.keyid.slice(1) }] },
      { ...good, payload: 'aGVsbG8gd29ybGQ' },
      { ...good, payload: 'aGVsbG8gd29ybGR=' },
      { ...good, payload: good.payload.replace(/\+/g, '-') + '_' },
      { ...good, signatures: [{ ...sig, sig: '' }] },
      { ...good, signatures: [{ ...sig, sig: sig.sig + 'AAAA' }] },
      { ...good, payloadType: '' },
      { ...good, payloadType: 'has space' },
      { payload: good.payload, signatures: good.signatures },
    ];
    for (const value of cases) {
      const text = typeof value === 'string' ? value : JSON.stringify(value);
      expect(
        codeOf(() => parseEnvelope(text)),
        text,
      ).toBe('ERR_ENVELOPE_INVALID');
    }
    expect(codeOf(() => parseEnvelope(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])))).toBe('ERR_ENVELOPE_INVALID');
  });

  it('refuses the wrong payload type (ERR_PAYLOAD_TYPE)', () => {
    const envelope = signEnvelope(type, payload, [a]);
    expect(codeOf(() => verifyEnvelope(envelope, [a.verifyingKey()], 1, 'application/other'))).toBe(
      'ERR_PAYLOAD_TYPE',
    );
  });

  it('counts distinct trusted keys toward the threshold', () => {
    const twice = signEnvelope(type, payload, [a, a]);
    const trusted = [a, b, c].map((key) => key.verifyingKey());
    expect(codeOf(() => verifyEnvelope(twice, trusted, 2, type))).toBe('ERR_THRESHOLD_NOT_MET');
    const two = signEnvelope(type, payload, [a, b]);
    expect(() => verifyEnvelope(two, trusted, 2, type)).not.toThrow();
    expect(codeOf(() => verifyEnvelope(two, trusted, 3, type))).toBe('ERR_THRESHOLD_NOT_MET');
  });

  it('ignores signatures by untrusted keys and refuses when none is trusted (ERR_UNKNOWN_KEY)', () => {
    const envelope = signEnvelope(type, payload, [c, a]);
    expect(() => verifyEnvelope(envelope, new Map([[a.keyId, a.verifyingKey()]]), 1, type)).not.toThrow();
    expect(codeOf(() => verifyEnvelope(envelope, [b.verifyingKey()], 1, type))).toBe('ERR_UNKNOWN_KEY');
  });

  it('refuses a bad signature by a trusted key even when others meet the threshold (ERR_SIGNATURE_INVALID)', () => {
    const envelope = signEnvelope(type, payload, [a, b]);
    const forged: Envelope = {
      ...envelope,
      signatures: [envelope.signatures[0]!, { keyid: c.keyId, sig: envelope.signatures[1]!.sig }],
    };
    const trusted = [a, b, c].map((key) => key.verifyingKey());
    expect(codeOf(() => verifyEnvelope(forged, trusted, 1, type))).toBe('ERR_SIGNATURE_INVALID');
  });

  it('refuses a signature made over another payload type (PAE binds the type)', () => {
    const envelope = signEnvelope('application/one', payload, [a]);
    const swapped = { ...envelope, payloadType: 'application/two' };
    expect(codeOf(() => verifyEnvelope(swapped, [a.verifyingKey()], 1, 'application/two'))).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('refuses a map entry whose key id differs from the key', () => {
    const envelope = signEnvelope(type, payload, [a]);
    const lying = new Map([[a.keyId, b.verifyingKey()]]);
    expect(codeOf(() => verifyEnvelope(envelope, lying, 1, type))).toBe('ERR_UNKNOWN_KEY');
  });

  it('refuses a threshold that is not a positive integer', () => {
    const envelope = signEnvelope(type, payload, [a]);
    expect(() => verifyEnvelope(envelope, [a.verifyingKey()], 0, type)).toThrow(RangeError);
    expect(() => signEnvelope(type, payload, [])).toThrow(RangeError);
  });
});
