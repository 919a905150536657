/**
 * The client side of the hierarchy CA (docs/tls.md): a CA certificate is trusted only with a
 * `tls-ca` endorsement signed by a threshold of the root the client holds (C1, C2), in date, naming
 * exactly this certificate and public key. No external PKI and no system trust store take part.
 */
import type { Envelope } from '../dsse.js';
import { openDocument, type DocumentLimits } from '../documents/open.js';
import type { TlsCaPayload } from '../documents/tls-ca.js';
import { clockSkewMs } from '../documents/validity.js';
import type { TrustedRoot } from '../root.js';
import { CertificateSiteMismatchError } from '../trust-errors.js';
import {
  certificateSha256,
  certificateTimes,
  readCertificatePem,
  subjectPublicKeySha256,
} from './certificate-pem.js';
import { TlsCaMismatchError, TlsCertificateInvalidError } from './tls-errors.js';

/** A verified hierarchy CA: the endorsement's payload and hash, and the CA certificate as PEM. */
export type VerifiedTlsCa = { payload: TlsCaPayload; hash: string; caCertificatePem: string };

/**
 * Verifies a hierarchy CA certificate against its endorsement, in this order: the endorsement's
 * signatures by a threshold of the root (ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID,
 * ERR_THRESHOLD_NOT_MET) and its validity (ERR_NOT_YET_VALID, ERR_EXPIRED); the site when one is
 * expected (ERR_CERTIFICATE_SITE_MISMATCH); the certificate readable (ERR_TLS_CERTIFICATE_INVALID);
 * its DER and public key hashes equal to the endorsed ones (ERR_TLS_CA_MISMATCH); then that it is a
 * self-signed CA certificate within its own validity (ERR_TLS_CERTIFICATE_INVALID).
 */
export function verifyCaEndorsement(
  endorsement: Envelope | string | Uint8Array,
  caCertificatePem: string,
  root: TrustedRoot,
  now: Date,
  options: { expectedSiteCode?: string; limits?: DocumentLimits } = {},
): VerifiedTlsCa {
  const opened = openDocument('tls-ca', endorsement, root.keys, root.threshold, now, options.limits);
  const { payload } = opened;
  if (options.expectedSiteCode !== undefined && payload.siteCode !== options.expectedSiteCode) {
    throw new CertificateSiteMismatchError(
      `The TLS CA endorsement is for site ${payload.siteCode}, not for site ${options.expectedSiteCode}.`,
    );
  }
  const certificate = readCertificatePem(caCertificatePem, 'CA certificate');
  if (certificateSha256(certificate) !== payload.caCertificateSha256) {
    throw new TlsCaMismatchError(
      `The CA certificate ${certificate.subject} (sha256 ${certificateSha256(certificate)}) is not the one ` +
        `the root endorsed (sha256 ${payload.caCertificateSha256}, version ${payload.version}).`,
    );
  }
  if (subjectPublicKeySha256(certificate) !== payload.subjectPublicKeySha256) {
    throw new TlsCaMismatchError(
      `The public key of CA certificate ${certificate.subject} is not the one the root endorsed.`,
    );
  }
  if (
    !certificate.ca ||
    !certificate.checkIssued(certificate) ||
    !certificate.verify(certificate.publicKey)
  ) {
    throw new TlsCertificateInvalidError(
      `The endorsed certificate ${certificate.subject} is not a self-signed CA certificate.`,
    );
  }
  const { notBefore, notAfter } = certificateTimes(certificate);
  if (notBefore.getTime() > now.getTime() + clockSkewMs || notAfter.getTime() <= now.getTime()) {
    throw new TlsCertificateInvalidError(
      `The CA certificate ${certificate.subject} is valid from ${notBefore.toISOString()} to ` +
        `${notAfter.toISOString()}, not now (${now.toISOString()}).`,
    );
  }
  return { payload, hash: opened.hash, caCertificatePem: certificate.toString() };
}
