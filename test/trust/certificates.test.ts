/**
 * C2 certificates: an MP or site key is accepted only with a certificate signed by a threshold of
 * the client's root, for the expected site, within its validity.
 */
import { describe, expect, it } from 'vitest';
import {
  issueMpCertificate,
  issueSiteCertificate,
  verifyMpCertificate,
  verifySiteCertificate,
  type StewardError,
} from '../../src/trust/index.js';
import { buildPki, daysFromNow, now, samplePayload, seededKey } from './support/pki.js';

const pki = buildPki('certificates');
const other = buildPki('other-hierarchy');
const { kind: _mpKind, ...mpFields } = samplePayload('mp-certificate');
const { kind: _siteKind, ...siteFields } = samplePayload('site-certificate');

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

describe('C2 certificates', () => {
  it('C2 accepts an MP certificate from the root, for the site, in date, and returns the certified key', () => {
    const verified = verifyMpCertificate(pki.mpCertificate.encoded, pki.root, now, 'ABC');
    expect(verified.key.keyId).toBe(pki.mpKey.keyId);
    expect(verified.payload.urls).toEqual(['https://mp1.example.test:8443/']);
    expect(verified.hash).toBe(pki.mpCertificate.hash);
  });

  it('C2 accepts a site certificate, with or without an expected site', () => {
    expect(verifySiteCertificate(pki.siteCertificate.envelope, pki.root, now).key.keyId).toBe(
      pki.siteKey.keyId,
    );
    expect(verifySiteCertificate(pki.siteCertificate.encoded, pki.root, now, 'ABC').payload.siteType).toBe(
      'central',
    );
  });

  it('C2 refuses an MP certificate signed by another root (ERR_UNKNOWN_KEY)', () => {
    expect(codeOf(() => verifyMpCertificate(other.mpCertificate.encoded, pki.root, now, 'ABC'))).toBe(
      'ERR_UNKNOWN_KEY',
    );
    expect(codeOf(() => verifySiteCertificate(other.siteCertificate.encoded, pki.root, now))).toBe(
      'ERR_UNKNOWN_KEY',
    );
  });

  it('C2 refuses an MP certificate signed by the MP key itself or by the site key (ERR_UNKNOWN_KEY)', () => {
    const selfSigned = issueMpCertificate(mpFields, [pki.mpKey]);
    expect(codeOf(() => verifyMpCertificate(selfSigned.encoded, pki.root, now, 'ABC'))).toBe(
      'ERR_UNKNOWN_KEY',
    );
    const bySite = issueMpCertificate(mpFields, [pki.siteKey]);
    expect(codeOf(() => verifyMpCertificate(bySite.encoded, pki.root, now, 'ABC'))).toBe('ERR_UNKNOWN_KEY');
  });

  it('C2 refuses an MP certificate for another site (ERR_CERTIFICATE_SITE_MISMATCH)', () => {
    expect(codeOf(() => verifyMpCertificate(pki.mpCertificate.encoded, pki.root, now, 'XYZ'))).toBe(
      'ERR_CERTIFICATE_SITE_MISMATCH',
    );
    expect(codeOf(() => verifySiteCertificate(pki.siteCertificate.encoded, pki.root, now, 'XYZ'))).toBe(
      'ERR_CERTIFICATE_SITE_MISMATCH',
    );
  });

  it('C2 refuses an expired MP certificate (ERR_EXPIRED)', () => {
    const expired = issueMpCertificate(
      { ...mpFields, issuedAt: daysFromNow(-30), expiresAt: daysFromNow(-1) },
      [pki.rootKey],
    );
    expect(codeOf(() => verifyMpCertificate(expired.encoded, pki.root, now, 'ABC'))).toBe('ERR_EXPIRED');
  });

  it('C2 refuses an MP certificate that is not yet valid (ERR_NOT_YET_VALID)', () => {
    const future = issueMpCertificate({ ...mpFields, issuedAt: daysFromNow(1), expiresAt: daysFromNow(30) }, [
      pki.rootKey,
    ]);
    expect(codeOf(() => verifyMpCertificate(future.encoded, pki.root, now, 'ABC'))).toBe('ERR_NOT_YET_VALID');
  });

  it('C2 refuses a site certificate below the root threshold (ERR_THRESHOLD_NOT_MET)', () => {
    const second = seededKey('certificates-root-2');
    const root = {
      ...pki.root,
      threshold: 2,
      keys: new Map([...pki.root.keys, [second.keyId, second.verifyingKey()]]),
    };
    expect(codeOf(() => verifySiteCertificate(pki.siteCertificate.encoded, root, now))).toBe(
      'ERR_THRESHOLD_NOT_MET',
    );
    const both = issueSiteCertificate(siteFields, [pki.rootKey, second]);
    expect(codeOf(() => verifySiteCertificate(both.encoded, root, now))).toBe('accepted');
  });

  it('C2 refuses a site certificate presented as an MP certificate (ERR_PAYLOAD_TYPE)', () => {
    expect(codeOf(() => verifyMpCertificate(pki.siteCertificate.encoded, pki.root, now, 'ABC'))).toBe(
      'ERR_PAYLOAD_TYPE',
    );
  });
});
