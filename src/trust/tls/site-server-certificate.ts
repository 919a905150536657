/**
 * Site server certificates (docs/tls.md, "Site certificates"): the certificate a site server
 * serves HTTPS with and presents as a TLS client on its site links. The subject common name is
 * `<SITE CODE> site server`; extended key usage serverAuth and clientAuth. A child site's key is
 * generated at the child and only its public half travels (in the join request or a renewal
 * request, both signed by the child's site key: proof that the certified site asks; the TLS key
 * proves possession in every handshake).
 */
import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { decodeCanonicalBase64 } from '../base64.js';
import { sha256Hex } from '../digest.js';
import { PayloadInvalidError } from '../trust-errors.js';
import {
  clientAuthOid,
  issueLeaf,
  serverAuthOid,
  type CertificateAuthority,
  type CertifiedPublicKey,
} from './authority.js';
import {
  certificateTimes,
  normalizeSerial,
  readCertificatePem,
  subjectPublicKeySha256,
} from './certificate-pem.js';
import { checkDnsNames, checkIpAddresses, maxSubjectAltNames, validitySeconds } from './names.js';
import { TlsCertificateInvalidError } from './tls-errors.js';
import { isCertificateCurve, spkiDer } from './tls-key.js';

const siteServerName = /^([A-Z0-9]{3}) site server$/;

/** The subject common name of a site server's certificate. */
export function siteServerCommonName(siteCode: string): string {
  return `${siteCode} site server`;
}

/** A site's TLS public key read from a request: the key and the SHA-256 of its SubjectPublicKeyInfo. */
export type SiteTlsPublicKey = { publicKey: KeyObject; publicKeySha256: string };

/** Reads a base64 SubjectPublicKeyInfo DER: ERR_PAYLOAD_INVALID unless it is an ECDSA P-256 key. */
export function readSiteTlsPublicKey(base64: string): SiteTlsPublicKey {
  const der = decodeCanonicalBase64(base64);
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(der ?? new Uint8Array(0)), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new PayloadInvalidError('The site TLS request does not carry a readable public key.', { cause });
  }
  if (!isCertificateCurve(publicKey)) {
    throw new PayloadInvalidError('A site TLS request carries an ECDSA P-256 public key only.');
  }
  return { publicKey, publicKeySha256: sha256Hex(spkiDer(publicKey)) };
}

export type SiteServerKeyOptions = {
  siteCode: string;
  publicKey: KeyObject;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  validityDays: number;
  now: Date;
};

/** Certifies a site server's public key: CN `<code> site server`, its names, serverAuth + clientAuth. */
export async function certifySiteServerKey(
  ca: CertificateAuthority,
  options: SiteServerKeyOptions,
): Promise<CertifiedPublicKey> {
  const dnsNames = checkDnsNames(options.dnsNames);
  const ipAddresses = checkIpAddresses(options.ipAddresses);
  const count = dnsNames.length + ipAddresses.length;
  if (count === 0 || count > maxSubjectAltNames) {
    throw new PayloadInvalidError(
      `A site server certificate names 1 to ${maxSubjectAltNames} DNS names and IP addresses, not ${count}.`,
    );
  }
  if (!/^[A-Z0-9]{3}$/.test(options.siteCode))
    throw new PayloadInvalidError('A site code is three letters or digits.');
  if (!isCertificateCurve(options.publicKey)) {
    throw new TlsCertificateInvalidError(
      'A site server certificate certifies an ECDSA P-256 public key only.',
    );
  }
  return issueLeaf(ca, {
    subject: siteServerCommonName(options.siteCode),
    sans: [
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ],
    usages: [serverAuthOid, clientAuthOid],
    seconds: validitySeconds(options.validityDays, 398, 'site server certificate'),
    now: options.now,
    publicKey: spkiDer(options.publicKey),
  });
}

/** A site server certificate that passed verifySiteServerCertificate. */
export type VerifiedSiteServerCertificate = { serialHex: string; notBefore: Date; notAfter: Date };

/**
 * A child's check of the certificate it was sent: issued by one of the hierarchy CAs it holds, for
 * its own site code and its own TLS key, with both usages, in date (ERR_TLS_CERTIFICATE_INVALID).
 */
export function verifySiteServerCertificate(
  pem: string,
  caPems: readonly string[],
  expected: { siteCode: string; publicKeySha256: string; now: Date },
): VerifiedSiteServerCertificate {
  const certificate = readCertificatePem(pem, 'site server certificate');
  const issued = caPems.some((caPem) => {
    const ca = new X509Certificate(caPem);
    return certificate.checkIssued(ca) && certificate.verify(ca.publicKey);
  });
  if (!issued)
    throw new TlsCertificateInvalidError('The site server certificate is not issued by the hierarchy CA.');
  if (siteCodeOfSubject(certificate.subject) !== expected.siteCode) {
    throw new TlsCertificateInvalidError(`The site server certificate is not for site ${expected.siteCode}.`);
  }
  if (subjectPublicKeySha256(certificate) !== expected.publicKeySha256) {
    throw new TlsCertificateInvalidError(
      "The site server certificate certifies another key than this site's.",
    );
  }
  const usages = (certificate.keyUsage as string[] | undefined) ?? [];
  if (!usages.includes(serverAuthOid) || !usages.includes(clientAuthOid)) {
    throw new TlsCertificateInvalidError('A site server certificate must allow TLS server and client use.');
  }
  const { notBefore, notAfter } = certificateTimes(certificate);
  if (notAfter.getTime() <= expected.now.getTime()) {
    throw new TlsCertificateInvalidError(`The site server certificate expired at ${notAfter.toISOString()}.`);
  }
  return { serialHex: normalizeSerial(certificate.serialNumber), notBefore, notAfter };
}

function siteCodeOfSubject(subject: string): string | undefined {
  for (const line of subject.split('\n')) {
    if (!line.startsWith('CN=')) continue;
    return siteServerName.exec(line.slice(3))?.[1];
  }
  return undefined;
}

/**
 * Who is at the other end of a site link connection: a plain socket (`plain`), no or an untrusted
 * client certificate (`none`: the listener asks for one from the hierarchy CA and records whether it
 * verified), a site server certificate (`site`, with its code), or another certificate of the CA,
 * such as an agent's client certificate (`other`).
 */
export type SiteLinkPeer =
  | { kind: 'plain' }
  | { kind: 'none'; reason: string }
  | { kind: 'site'; siteCode: string; serialHex: string }
  | { kind: 'other'; subject: string };

export function siteLinkPeer(socket: Socket): SiteLinkPeer {
  if (!(socket instanceof TLSSocket)) return { kind: 'plain' };
  const peer = socket.getPeerX509Certificate();
  if (peer === undefined) return { kind: 'none', reason: 'no client certificate' };
  if (!socket.authorized) {
    const reason =
      socket.authorizationError instanceof Error ? socket.authorizationError.message : 'untrusted';
    return { kind: 'none', reason: `a client certificate the hierarchy CA did not issue (${reason})` };
  }
  const siteCode = siteCodeOfSubject(peer.subject);
  const usages = (peer.keyUsage as string[] | undefined) ?? [];
  if (siteCode === undefined || !usages.includes(serverAuthOid) || !usages.includes(clientAuthOid)) {
    return { kind: 'other', subject: peer.subject.replace(/\n/g, ', ').slice(0, 200) };
  }
  return { kind: 'site', siteCode, serialHex: normalizeSerial(peer.serialNumber) };
}
