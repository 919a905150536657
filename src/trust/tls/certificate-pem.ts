/**
 * Reading X.509 certificates with node's own parser (no third-party code on the client side):
 * one certificate per PEM, a size cap before parsing (C6), validity times as Dates, the SHA-256 of
 * the DER and of the public key, and serial numbers in one spelling.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { algorithms } from '../algorithms.js';
import { sha256Hex } from '../digest.js';
import { spkiDer } from './tls-key.js';
import { TlsCertificateInvalidError } from './tls-errors.js';

/** C6: a certificate PEM longer than this is refused before it is parsed. */
export const maxCertificatePemBytes = 64 * 1024;

const beginCertificate = /-----BEGIN CERTIFICATE-----/g;

/** Parses a PEM holding exactly one certificate; ERR_TLS_CERTIFICATE_INVALID otherwise. */
export function readCertificatePem(pem: string, what = 'certificate'): X509Certificate {
  if (Buffer.byteLength(pem, 'utf8') > maxCertificatePemBytes) {
    throw new TlsCertificateInvalidError(`The ${what} PEM is larger than ${maxCertificatePemBytes} bytes.`);
  }
  const count = pem.match(beginCertificate)?.length ?? 0;
  if (count !== 1) {
    throw new TlsCertificateInvalidError(`The ${what} PEM must hold exactly one certificate, not ${count}.`);
  }
  try {
    return new X509Certificate(pem);
  } catch (cause) {
    throw new TlsCertificateInvalidError(`The ${what} PEM is not a readable X.509 certificate.`, { cause });
  }
}

/** Reads a CA certificate: one PEM certificate marked as a CA (any key type: an organisation's CA). */
export function readCaCertificate(pem: string, what = 'CA certificate'): X509Certificate {
  const certificate = readCertificatePem(pem, what);
  if (!certificate.ca) {
    throw new TlsCertificateInvalidError(`The certificate ${certificate.subject} is not a CA certificate.`);
  }
  return certificate;
}

/** Reads the hierarchy CA's certificate: a CA certificate with a P-256 key. */
export function readHierarchyCaCertificate(pem: string): X509Certificate {
  const certificate = readCaCertificate(pem);
  const details = certificate.publicKey.asymmetricKeyDetails;
  if (
    certificate.publicKey.asymmetricKeyType !== algorithms.certificate.keyType ||
    details?.namedCurve !== algorithms.certificate.namedCurve
  ) {
    throw new TlsCertificateInvalidError(
      `The CA certificate ${certificate.subject} does not hold a P-256 key.`,
    );
  }
  return certificate;
}

/** C6: certificates in one chain PEM (a server certificate and its intermediates). */
export const maxChainCertificates = 8;

/**
 * Reads a certificate chain PEM (the server certificate first, then intermediates, as an
 * organisation's PKI delivers it) and returns the first certificate.
 */
export function readCertificateChainPem(pem: string, what = 'certificate'): X509Certificate {
  if (Buffer.byteLength(pem, 'utf8') > maxCertificatePemBytes) {
    throw new TlsCertificateInvalidError(`The ${what} PEM is larger than ${maxCertificatePemBytes} bytes.`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 || blocks.length > maxChainCertificates) {
    throw new TlsCertificateInvalidError(
      `The ${what} PEM must hold 1 to ${maxChainCertificates} certificates, not ${blocks.length}.`,
    );
  }
  return readCertificatePem(blocks[0] ?? '', what);
}

/**
 * True when the unencrypted PEM private key (any type node accepts) belongs to the certificate;
 * ERR_TLS_CERTIFICATE_INVALID when the key cannot be read.
 */
export function privateKeyMatches(certificate: X509Certificate, keyPem: string): boolean {
  if (Buffer.byteLength(keyPem, 'utf8') > maxCertificatePemBytes) {
    throw new TlsCertificateInvalidError(`A private key PEM is limited to ${maxCertificatePemBytes} bytes.`);
  }
  try {
    return certificate.checkPrivateKey(createPrivateKey({ key: keyPem, format: 'pem' }));
  } catch (cause) {
    throw new TlsCertificateInvalidError('The private key is not an unencrypted PEM private key.', { cause });
  }
}

/** A certificate's validity window. */
export function certificateTimes(certificate: X509Certificate): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.parse(certificate.validFrom));
  const notAfter = new Date(Date.parse(certificate.validTo));
  if (!Number.isFinite(notBefore.getTime()) || !Number.isFinite(notAfter.getTime())) {
    throw new TlsCertificateInvalidError('The certificate has unreadable validity times.');
  }
  return { notBefore, notAfter };
}

/** Lowercase hex SHA-256 of the certificate's DER bytes. */
export function certificateSha256(certificate: X509Certificate): string {
  return sha256Hex(certificate.raw);
}

/** Lowercase hex SHA-256 of the certificate's SubjectPublicKeyInfo DER. */
export function subjectPublicKeySha256(certificate: X509Certificate): string {
  return sha256Hex(spkiDer(certificate.publicKey));
}

/**
 * A serial number in Steward's one spelling: lowercase hex without leading zeros (node reports
 * serials in upper case, some tools with a leading 00 or colons).
 */
export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/:/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex)) throw new TlsCertificateInvalidError('A serial number must be hexadecimal.');
  return hex.replace(/^0+(?=.)/, '');
}

/** What a certificate says, for tests, logs and the console (never the key). */
export type CertificateSummary = {
  subject: string;
  issuer: string;
  /** Lowercase hex, no leading zeros. */
  serialHex: string;
  isCa: boolean;
  /** As node prints it: `DNS:mp1.example.test, IP Address:192.0.2.10`; undefined when absent. */
  subjectAltName: string | undefined;
  /** Extended key usage OIDs (serverAuth 1.3.6.1.5.5.7.3.1, clientAuth 1.3.6.1.5.5.7.3.2). */
  extendedKeyUsages: string[];
  notBefore: Date;
  notAfter: Date;
  sha256: string;
  publicKeySha256: string;
};

/** Describes one PEM certificate; ERR_TLS_CERTIFICATE_INVALID when it cannot be read. */
export function describeCertificate(pem: string): CertificateSummary {
  const certificate = readCertificatePem(pem);
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialHex: normalizeSerial(certificate.serialNumber),
    isCa: certificate.ca,
    subjectAltName: certificate.subjectAltName,
    extendedKeyUsages: [...((certificate.keyUsage as string[] | undefined) ?? [])],
    ...certificateTimes(certificate),
    sha256: certificateSha256(certificate),
    publicKeySha256: subjectPublicKeySha256(certificate),
  };
}

/** True when the CA certificate issued the certificate (names match and the signature verifies). */
export function isIssuedBy(pem: string, caPem: string): boolean {
  const certificate = readCertificatePem(pem);
  const ca = readCertificatePem(caPem, 'CA certificate');
  return certificate.checkIssued(ca) && certificate.verify(ca.publicKey);
}
