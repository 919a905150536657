/**
 * C2 certificates: the root certifies site keys and management-point keys. A key is accepted only
 * with a certificate signed by a threshold of the client's trusted root keys, for the expected
 * site, within its validity.
 */
import type { Envelope } from './dsse.js';
import type { MpCertificatePayload } from './documents/mp-certificate.js';
import type { PayloadInputOf } from './documents/kinds.js';
import { openDocument, signDocument, type DocumentLimits, type SignedDocument } from './documents/open.js';
import type { SiteCertificatePayload } from './documents/site-certificate.js';
import { publicKeyFromRecord, type SigningKey, type VerifyingKey } from './keys.js';
import type { TrustedRoot } from './root.js';
import { CertificateSiteMismatchError } from './trust-errors.js';

/** A verified certificate: its payload, the certified key and the payload hash. */
export type VerifiedCertificate<P> = { payload: P; key: VerifyingKey; hash: string };

/** Fields of a site certificate (the kind is implied). */
export type SiteCertificateFields = Omit<PayloadInputOf<'site-certificate'>, 'kind'>;

/** Fields of an MP certificate (the kind is implied). */
export type MpCertificateFields = Omit<PayloadInputOf<'mp-certificate'>, 'kind'>;

/** Signs a site certificate with root keys (a threshold of the current root's keys). */
export function issueSiteCertificate(
  fields: SiteCertificateFields,
  rootSigners: readonly SigningKey[],
): SignedDocument {
  return signDocument({ kind: 'site-certificate', ...fields }, rootSigners);
}

/** Signs a management-point certificate with root keys. */
export function issueMpCertificate(
  fields: MpCertificateFields,
  rootSigners: readonly SigningKey[],
): SignedDocument {
  return signDocument({ kind: 'mp-certificate', ...fields }, rootSigners);
}

function checkSite(kind: string, actual: string, expected: string | undefined): void {
  if (expected !== undefined && actual !== expected) {
    throw new CertificateSiteMismatchError(
      `The ${kind} is for site ${actual}, not for site ${expected}; refusing the key it certifies.`,
    );
  }
}

/**
 * C2 for site keys: signatures by a threshold of the root (ERR_UNKNOWN_KEY,
 * ERR_SIGNATURE_INVALID, ERR_THRESHOLD_NOT_MET), validity (ERR_NOT_YET_VALID, ERR_EXPIRED), then
 * the site (ERR_CERTIFICATE_SITE_MISMATCH) when one is expected.
 */
export function verifySiteCertificate(
  envelope: Envelope | string | Uint8Array,
  root: TrustedRoot,
  now: Date,
  expectedSiteCode?: string,
  limits?: DocumentLimits,
): VerifiedCertificate<SiteCertificatePayload> {
  const opened = openDocument('site-certificate', envelope, root.keys, root.threshold, now, limits);
  checkSite('site certificate', opened.payload.siteCode, expectedSiteCode);
  return { payload: opened.payload, key: publicKeyFromRecord(opened.payload.siteKey), hash: opened.hash };
}

/** C2 for MP keys: as verifySiteCertificate, and the site is always checked. */
export function verifyMpCertificate(
  envelope: Envelope | string | Uint8Array,
  root: TrustedRoot,
  now: Date,
  expectedSiteCode: string,
  limits?: DocumentLimits,
): VerifiedCertificate<MpCertificatePayload> {
  const opened = openDocument('mp-certificate', envelope, root.keys, root.threshold, now, limits);
  checkSite('management point certificate', opened.payload.siteCode, expectedSiteCode);
  return { payload: opened.payload, key: publicKeyFromRecord(opened.payload.mpKey), hash: opened.hash };
}
