/**
 * S1 registration proof of possession and S2 report signatures (approval and replay refusal are the
 * site layer's; see docs/spec/trust.md).
 */
import { describe, expect, it } from 'vitest';
import {
  signDocument,
  verifyClientReport,
  verifyRegistration,
  type StewardError,
} from '../../src/trust/index.js';
import { daysFromNow, now, samplePayload, seededKey, withFields } from './support/pki.js';

const client = seededKey('client');
const other = seededKey('site-checks-other');

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

describe('S1 registration', () => {
  it('S1 accepts a registration signed by the key it carries; the client id is that key id', () => {
    const registration = signDocument(samplePayload('client-registration'), [client]);
    const verified = verifyRegistration(registration.encoded, now);
    expect(verified.clientId).toBe(client.keyId);
    expect(verified.clientKey.keyId).toBe(client.keyId);
    expect(verified.payload.hostname).toBe('ws-0001.example.test');
  });

  it('S1 refuses a registration signed by another key than the one it carries (no proof of possession)', () => {
    const stolen = signDocument(samplePayload('client-registration'), [other]);
    expect(codeOf(() => verifyRegistration(stolen.encoded, now))).toBe('ERR_UNKNOWN_KEY');
  });

  it('S1 refuses an expired or future registration', () => {
    const expired = signDocument(
      withFields('client-registration', { issuedAt: daysFromNow(-2), expiresAt: daysFromNow(-1) }),
      [client],
    );
    expect(codeOf(() => verifyRegistration(expired.encoded, now))).toBe('ERR_EXPIRED');
    const future = signDocument(
      withFields('client-registration', { issuedAt: daysFromNow(1), expiresAt: daysFromNow(2) }),
      [client],
    );
    expect(codeOf(() => verifyRegistration(future.encoded, now))).toBe('ERR_NOT_YET_VALID');
  });

  it('S1 refuses a registration whose key record does not match its key id', () => {
    const registration = signDocument(samplePayload('client-registration'), [client]);
    const payload = JSON.parse(Buffer.from(registration.payloadBytes).toString('utf8')) as {
      clientKey: { keyId: string };
    };
    payload.clientKey.keyId = other.keyId;
    const envelope = {
      ...registration.envelope,
      payload: Buffer.from(JSON.stringify(payload)).toString('base64'),
    };
    expect(codeOf(() => verifyRegistration(envelope, now))).toBe('ERR_PAYLOAD_INVALID');
  });
});

describe('S2 client reports', () => {
  it('S2 accepts a report signed by the registered client key', () => {
    const report = signDocument(samplePayload('client-report'), [client]);
    expect(verifyClientReport(report.encoded, client.verifyingKey(), now).payload.messageId).toBe('m-0001');
  });

  it('S2 refuses a report signed by another key (ERR_UNKNOWN_KEY) or tampered (ERR_SIGNATURE_INVALID)', () => {
    const report = signDocument(samplePayload('client-report'), [other]);
    expect(codeOf(() => verifyClientReport(report.encoded, client.verifyingKey(), now))).toBe(
      'ERR_UNKNOWN_KEY',
    );
    const genuine = signDocument(samplePayload('client-report'), [client]);
    const tampered = {
      ...genuine.envelope,
      payload: Buffer.from(
        Buffer.from(genuine.payloadBytes).toString('utf8').replace('heartbeat', 'inventory'),
      ).toString('base64'),
    };
    expect(codeOf(() => verifyClientReport(tampered, client.verifyingKey(), now))).toBe(
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('S2 refuses a report that names another client than its signer', () => {
    const report = signDocument(withFields('client-report', { clientId: other.keyId }), [client]);
    expect(codeOf(() => verifyClientReport(report.encoded, client.verifyingKey(), now))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
  });
});
