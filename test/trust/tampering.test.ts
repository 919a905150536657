/**
 * Tampering (property tests): any change to a signed document is refused, with a code that depends
 * only on which field was changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  encodeEnvelope,
  openDocument,
  parseEnvelope,
  signDocument,
  type Envelope,
  type StewardError,
} from '../../src/trust/index.js';
import { now, samplePayload, seededKey } from './support/pki.js';

const signer = seededKey('tamper-signer');
const other = seededKey('tamper-other');
const signed = signDocument(samplePayload('policy-body'), [signer]);
const trusted = [signer.verifyingKey(), other.verifyingKey()];
const payloadBytes = Buffer.from(signed.payloadBytes);
const sigBytes = Buffer.from(signed.envelope.signatures[0]!.sig, 'base64');
const keyid = signed.envelope.signatures[0]!.keyid;

function codeOf(envelope: Envelope | string): string {
  try {
    openDocument('policy-body', envelope, trusted, 1, now);
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

function withPayload(bytes: Buffer): Envelope {
  return { ...signed.envelope, payload: bytes.toString('base64') };
}

function withSig(bytes: Buffer): Envelope {
  return { ...signed.envelope, signatures: [{ keyid, sig: bytes.toString('base64') }] };
}

const flip = (bytes: Buffer, index: number, mask: number): Buffer => {
  const copy = Buffer.from(bytes);
  copy[index] = copy[index]! ^ mask;
  return copy;
};

describe('tampering', () => {
  it('the untampered document opens', () => {
    expect(codeOf(signed.envelope)).toBe('accepted');
  });

  it('flipping any payload bit is ERR_SIGNATURE_INVALID (signature checked before parsing)', () => {
    fc.assert(
      fc.property(fc.nat(payloadBytes.length - 1), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        expect(codeOf(withPayload(flip(payloadBytes, index, mask)))).toBe('ERR_SIGNATURE_INVALID');
      }),
      { numRuns: 200 },
    );
  });

  it('flipping any signature bit is ERR_SIGNATURE_INVALID', () => {
    fc.assert(
      fc.property(fc.nat(sigBytes.length - 1), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        expect(codeOf(withSig(flip(sigBytes, index, mask)))).toBe('ERR_SIGNATURE_INVALID');
      }),
      { numRuns: 200 },
    );
  });

  it('changing any keyid character: another hex digit is ERR_UNKNOWN_KEY, anything else ERR_ENVELOPE_INVALID', () => {
    fc.assert(
      fc.property(fc.nat(keyid.length - 1), fc.integer({ min: 0x20, max: 0x7e }), (index, code) => {
        const replacement = String.fromCharCode(code);
        fc.pre(replacement !== keyid[index]);
        const changed = keyid.slice(0, index) + replacement + keyid.slice(index + 1);
        const envelope = {
          ...signed.envelope,
          signatures: [{ keyid: changed, sig: sigBytes.toString('base64') }],
        };
        const expected = /^[0-9a-f]$/.test(replacement) ? 'ERR_UNKNOWN_KEY' : 'ERR_ENVELOPE_INVALID';
        expect(codeOf(envelope)).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('changing the payload type is ERR_PAYLOAD_TYPE', () => {
    expect(codeOf({ ...signed.envelope, payloadType: 'application/vnd.steward.content-manifest+json' })).toBe(
      'ERR_PAYLOAD_TYPE',
    );
  });

  it('flipping any byte of the encoded envelope text is refused', () => {
    const text = Buffer.from(encodeEnvelope(signed.envelope));
    const refusals = new Set([
      'ERR_ENVELOPE_INVALID',
      'ERR_SIGNATURE_INVALID',
      'ERR_UNKNOWN_KEY',
      'ERR_PAYLOAD_TYPE',
    ]);
    fc.assert(
      fc.property(fc.nat(text.length - 1), fc.integer({ min: 1, max: 255 }), (index, mask) => {
        const changed = flip(text, index, mask);
        let code: string;
        try {
          openDocument('policy-body', changed, trusted, 1, now);
          code = 'accepted';
        } catch (error) {
          code = (error as StewardError).code;
        }
        expect(refusals).toContain(code);
      }),
      { numRuns: 300 },
    );
  });

  it('a validly signed payload that fails its schema is ERR_PAYLOAD_INVALID (parsed only after the signature)', () => {
    const bad = JSON.parse(payloadBytes.toString('utf8')) as Record<string, unknown>;
    bad['unexpected'] = true;
    const bytes = Buffer.from(JSON.stringify(bad));
    const message = Buffer.from(
      `DSSEv1 ${signed.envelope.payloadType.length} ${signed.envelope.payloadType} ${bytes.length} `,
    );
    const envelope = {
      ...signed.envelope,
      payload: bytes.toString('base64'),
      signatures: [
        { keyid, sig: Buffer.from(signer.sign(Buffer.concat([message, bytes]))).toString('base64') },
      ],
    };
    expect(codeOf(parseEnvelope(JSON.stringify(envelope)))).toBe('ERR_PAYLOAD_INVALID');
  });
});
