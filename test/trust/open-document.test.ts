/**
 * signDocument and openDocument: defaults are filled before signing, C6 limits come before and after
 * the signature check, and the time checks use the caller's fixed "now".
 */
import { describe, expect, it } from 'vitest';
import { clockSkewMs, openDocument, signDocument, type StewardError } from '../../src/trust/index.js';
import { now, samplePayload, seededKey, withFields } from './support/pki.js';

const signer = seededKey('documents');

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

describe('signDocument and openDocument', () => {
  it('signDocument refuses an invalid payload and fills defaults before signing', () => {
    expect(codeOf(() => signDocument(withFields('root', { threshold: 0 }), [signer]))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
    const body = samplePayload('policy-body');
    const { workingDirectory: _omitted, ...program } = body.program;
    const signed = signDocument({ ...body, program }, [signer]);
    const opened = openDocument('policy-body', signed.encoded, [signer.verifyingKey()], 1, now);
    expect(opened.payload.program.workingDirectory).toBe('.');
    expect(opened.hash).toBe(signed.hash);
    expect(Buffer.from(opened.payloadBytes)).toEqual(Buffer.from(signed.payloadBytes));
  });

  it('C6 checks the envelope size before signatures, and the payload size after them', () => {
    const signed = signDocument(samplePayload('client-report'), [signer]);
    expect(codeOf(() => openDocument('client-report', signed.encoded, [], 1, now, { maxBytes: 100 }))).toBe(
      'ERR_TOO_LARGE',
    );
    expect(
      codeOf(() =>
        openDocument('client-report', signed.envelope, [signer.verifyingKey()], 1, now, {
          maxPayloadBytes: 50,
        }),
      ),
    ).toBe('ERR_TOO_LARGE');
    expect(
      codeOf(() =>
        openDocument('client-report', signed.envelope, [signer.verifyingKey()], 1, now, { maxBytes: 100 }),
      ),
    ).toBe('ERR_TOO_LARGE');
  });

  it('refuses an envelope object with unknown fields like envelope text', () => {
    const signed = signDocument(samplePayload('client-report'), [signer]);
    const extended = { ...signed.envelope, note: 'x' };
    expect(codeOf(() => openDocument('client-report', extended, [signer.verifyingKey()], 1, now))).toBe(
      'ERR_ENVELOPE_INVALID',
    );
  });

  it('checks issuedAt against now + 5 minutes (ERR_NOT_YET_VALID) and expiresAt against now (ERR_EXPIRED)', () => {
    const at = (offsetMs: number) => new Date(now.getTime() + offsetMs).toISOString();
    const open = (issuedAt: string, expiresAt: string) =>
      codeOf(() =>
        openDocument(
          'client-report',
          signDocument(withFields('client-report', { issuedAt, expiresAt }), [signer]).encoded,
          [signer.verifyingKey()],
          1,
          now,
        ),
      );
    expect(open(at(clockSkewMs), at(clockSkewMs + 1000))).toBe('accepted');
    expect(open(at(clockSkewMs + 1), at(clockSkewMs + 1000))).toBe('ERR_NOT_YET_VALID');
    expect(open(at(-1000), at(0))).toBe('ERR_EXPIRED');
    expect(open(at(-1000), at(1))).toBe('accepted');
  });

  it('opens exactly the signed kind', () => {
    const signed = signDocument(samplePayload('client-report'), [signer]);
    expect(codeOf(() => openDocument('site-message', signed.encoded, [signer.verifyingKey()], 1, now))).toBe(
      'ERR_PAYLOAD_TYPE',
    );
  });
});
