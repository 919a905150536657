/**
 * The hierarchy's TLS certificate authority (docs/tls.md): an ECDSA P-256 CA whose certificate the
 * root endorses with a signed `tls-ca` document, issuing server certificates for site systems and
 * client certificates for approved agents. Certificates are built with @peculiar/x509 (no
 * hand-written ASN.1) and read back with node's own parser.
 */
import { createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { algorithms } from '../algorithms.js';
import { clockSkewMs } from '../documents/validity.js';
import { signDocument, type SignedDocument } from '../documents/open.js';
import type { SigningKey } from '../keys.js';
import { PayloadInvalidError } from '../trust-errors.js';
import {
  certificateSha256,
  certificateTimes,
  normalizeSerial,
  readHierarchyCaCertificate,
  subjectPublicKeySha256,
} from './certificate-pem.js';
import {
  checkCommonName,
  checkDnsNames,
  checkIpAddresses,
  maxSubjectAltNames,
  validitySeconds,
} from './names.js';
import { TlsCertificateInvalidError } from './tls-errors.js';
import { isCertificateCurve, spkiDer, TlsKey, tlsKeyPem, tlsKeyPkcs8 } from './tls-key.js';
import { loadX509, type X509 } from './x509.js';

/** Default and maximum validity of the hierarchy CA, in days. */
export const defaultCaValidityDays = 5 * 365;
export const maxCaValidityDays = 20 * 365;
/** Default validity of server and client certificates, and the maximum (what browsers accept). */
export const defaultServerValidityDays = 90;
export const defaultClientValidityDays = 365;
export const maxLeafValidityDays = 398;

/** A CA that can issue: its certificate and its private key. */
export type CertificateAuthority = { readonly caCertificatePem: string; readonly caKey: TlsKey };

/** A new hierarchy CA: certificate, private key (store it with writeTlsKeyFile) and root endorsement. */
export type HierarchyCa = CertificateAuthority & { readonly endorsement: SignedDocument };

export type HierarchyCaOptions = {
  /** A threshold of the current root's keys. */
  rootSigners: readonly SigningKey[];
  /** The issuing central site. */
  siteCode: string;
  now: Date;
  validityDays?: number;
  /** The endorsement's serial; a replacement CA takes a higher one. Default 1. */
  version?: number;
};

export type EndorsementOptions = {
  rootSigners: readonly SigningKey[];
  siteCode: string;
  now: Date;
  version?: number;
};

export type ServerCertificateOptions = {
  commonName: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  validityDays?: number;
  now: Date;
  /** Also allow the certificate as a TLS client (site-to-site mutual TLS). Default false. */
  clientAuth?: boolean;
  /** Certify this key instead of a new one. */
  key?: TlsKey;
};

export type ClientCertificateOptions = {
  /** The client's id (its key id): the subject common name. */
  clientId: string;
  validityDays?: number;
  now: Date;
  key?: TlsKey;
};

/** A certificate just issued for a public key the CA never saw the private half of. */
export type CertifiedPublicKey = {
  certificatePem: string;
  /** Lowercase hex, no leading zeros (the spelling revocation lists use). */
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
};

/** A certificate just issued, with its private key (keyPem for node's TLS context). */
export type IssuedCertificate = CertifiedPublicKey & { keyPem: string; key: TlsKey };

export type ClientPublicKeyOptions = {
  /** The client's id (its key id): the subject common name. */
  clientId: string;
  /** The client's ECDSA P-256 public key (from a verified `tls-client-request`). */
  publicKey: KeyObject;
  validityDays?: number;
  now: Date;
};

type WebCryptoKey = webcrypto.CryptoKey;

/** Extended key usage OIDs: TLS server and TLS client authentication. */
export const serverAuthOid = '1.3.6.1.5.5.7.3.1';
export const clientAuthOid = '1.3.6.1.5.5.7.3.2';

const ecdsa = algorithms.certificate.webCrypto;

/** A positive serial of 16 random bytes whose first byte has no leading zero digit. */
function newSerialHex(): string {
  const bytes = randomBytes(algorithms.certificate.serialBytes);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

async function webCryptoSigningKey(key: TlsKey): Promise<WebCryptoKey> {
  const pkcs8 = tlsKeyPkcs8(key);
  try {
    return await webcrypto.subtle.importKey(
      'pkcs8',
      pkcs8,
      { name: ecdsa.name, namedCurve: ecdsa.namedCurve },
      false,
      ['sign'],
    );
  } finally {
    pkcs8.fill(0);
  }
}

/** Whole seconds (X.509 times have no milliseconds). */
function wholeSeconds(time: Date): number {
  return Math.floor(time.getTime() / 1000) * 1000;
}

function pemOf(certificate: X509.X509Certificate): string {
  return certificate.toString('pem') + '\n';
}

/**
 * Signs a `tls-ca` endorsement of a CA certificate with root keys: the SHA-256 of its DER and of its
 * public key, the issuing site, issued now, expiring with the certificate.
 */
export function endorseHierarchyCa(caCertificatePem: string, options: EndorsementOptions): SignedDocument {
  const certificate = readHierarchyCaCertificate(caCertificatePem);
  return signDocument(
    {
      kind: 'tls-ca',
      version: options.version ?? 1,
      caCertificateSha256: certificateSha256(certificate),
      subjectPublicKeySha256: subjectPublicKeySha256(certificate),
      siteCode: options.siteCode,
      issuedAt: options.now.toISOString(),
      expiresAt: certificateTimes(certificate).notAfter.toISOString(),
    },
    options.rootSigners,
  );
}

/**
 * Creates the hierarchy CA: a new P-256 key, a self-signed CA certificate (path length 0: it issues
 * only end-entity certificates), and the root's `tls-ca` endorsement of it.
 */
export async function createHierarchyCa(options: HierarchyCaOptions): Promise<HierarchyCa> {
  const version = options.version ?? 1;
  const seconds = validitySeconds(options.validityDays ?? defaultCaValidityDays, maxCaValidityDays, 'CA');
  const start = wholeSeconds(options.now);
  const caKey = TlsKey.generate();
  const name = [{ CN: [`Steward hierarchy CA ${options.siteCode} ${version}`] }, { O: ['Steward'] }];
  const publicKey = caKey.publicKeyDer();
  const x509 = await loadX509();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: newSerialHex(),
    subject: name,
    issuer: name,
    notBefore: new Date(start - clockSkewMs),
    notAfter: new Date(start + seconds * 1000),
    publicKey,
    signingKey: await webCryptoSigningKey(caKey),
    signingAlgorithm: ecdsa,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
    ],
  });
  const caCertificatePem = pemOf(certificate);
  const endorsement = endorseHierarchyCa(caCertificatePem, {
    rootSigners: options.rootSigners,
    siteCode: options.siteCode,
    now: options.now,
    version,
  });
  return { caCertificatePem, caKey, endorsement };
}

/** A CA from its certificate and private key (read with readTlsKeyFile); checks that they match. */
export function openCertificateAuthority(caCertificatePem: string, caKey: TlsKey): CertificateAuthority {
  const certificate = readHierarchyCaCertificate(caCertificatePem);
  if (subjectPublicKeySha256(certificate) !== caKey.publicKeySha256) {
    throw new TlsCertificateInvalidError(
      `The private key does not belong to the CA certificate ${certificate.subject}.`,
    );
  }
  return { caCertificatePem, caKey };
}

export type LeafRequest = {
  subject: string;
  sans: { type: 'dns' | 'ip'; value: string }[];
  usages: string[];
  seconds: number;
  now: Date;
  /** SubjectPublicKeyInfo DER of the key to certify. */
  publicKey: Uint8Array;
};

export async function issueLeaf(ca: CertificateAuthority, request: LeafRequest): Promise<CertifiedPublicKey> {
  const { caKey } = openCertificateAuthority(ca.caCertificatePem, ca.caKey);
  const x509 = await loadX509();
  const caCertificate = new x509.X509Certificate(ca.caCertificatePem);
  const start = wholeSeconds(request.now);
  const notBefore = new Date(start - clockSkewMs);
  let notAfter = new Date(start + request.seconds * 1000);
  if (caCertificate.notAfter.getTime() <= start) {
    throw new TlsCertificateInvalidError(
      `The CA certificate expired at ${caCertificate.notAfter.toISOString()}; create a new hierarchy CA.`,
    );
  }
  if (notAfter > caCertificate.notAfter) notAfter = caCertificate.notAfter;
  const publicKey = request.publicKey;
  const serialHex = newSerialHex();
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(request.usages, false),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey),
  ];
  if (request.sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(request.sans, false));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex,
    subject: [{ CN: [request.subject] }],
    issuer: caCertificate.subjectName,
    notBefore,
    notAfter,
    publicKey,
    signingKey: await webCryptoSigningKey(caKey),
    signingAlgorithm: ecdsa,
    extensions,
  });
  return { certificatePem: pemOf(certificate), serialHex: normalizeSerial(serialHex), notBefore, notAfter };
}

/** Issues a leaf for a new or given private key and returns it with the key. */
async function issueLeafWithKey(
  ca: CertificateAuthority,
  request: Omit<LeafRequest, 'publicKey'>,
  given: TlsKey | undefined,
): Promise<IssuedCertificate> {
  const key = given ?? TlsKey.generate();
  const issued = await issueLeaf(ca, { ...request, publicKey: key.publicKeyDer() });
  return { ...issued, keyPem: tlsKeyPem(key), key };
}

/**
 * A server certificate for a site system (site server, MP, DP, SLP): subject CN, subjectAltName
 * with every DNS name and IP address it serves, extended key usage serverAuth (and clientAuth when
 * asked). Its validity ends no later than the CA's.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  options: ServerCertificateOptions,
): Promise<IssuedCertificate> {
  const dnsNames = checkDnsNames(options.dnsNames ?? []);
  const ipAddresses = checkIpAddresses(options.ipAddresses ?? []);
  const count = dnsNames.length + ipAddresses.length;
  if (count === 0 || count > maxSubjectAltNames) {
    throw new PayloadInvalidError(
      `A server certificate names 1 to ${maxSubjectAltNames} DNS names and IP addresses, not ${count}.`,
    );
  }
  const usages: string[] = [serverAuthOid];
  if (options.clientAuth === true) usages.push(clientAuthOid);
  return issueLeafWithKey(
    ca,
    {
      subject: checkCommonName(options.commonName),
      sans: [
        ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ],
      usages,
      seconds: validitySeconds(
        options.validityDays ?? defaultServerValidityDays,
        maxLeafValidityDays,
        'server certificate',
      ),
      now: options.now,
    },
    options.key,
  );
}

/**
 * A server certificate for a site system on its own host (an MP or DP installed with a site system
 * token, docs/scale-out.md) whose private key never leaves that host: the same certificate as
 * issueServerCertificate, for a given ECDSA P-256 public key. ERR_TLS_CERTIFICATE_INVALID for
 * another key type.
 */
export async function certifyServerPublicKey(
  ca: CertificateAuthority,
  options: Omit<ServerCertificateOptions, 'key'> & {
    /** The SubjectPublicKeyInfo DER of the site system's own key. */
    publicKeyDer: Uint8Array;
  },
): Promise<CertifiedPublicKey> {
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(options.publicKeyDer), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new TlsCertificateInvalidError('The public key to certify is not a SubjectPublicKeyInfo.', {
      cause,
    });
  }
  if (!isCertificateCurve(publicKey)) {
    throw new TlsCertificateInvalidError('A server certificate certifies an ECDSA P-256 public key only.');
  }
  const dnsNames = checkDnsNames(options.dnsNames ?? []);
  const ipAddresses = checkIpAddresses(options.ipAddresses ?? []);
  const count = dnsNames.length + ipAddresses.length;
  if (count === 0 || count > maxSubjectAltNames) {
    throw new PayloadInvalidError(
      `A server certificate names 1 to ${maxSubjectAltNames} DNS names and IP addresses, not ${count}.`,
    );
  }
  return issueLeaf(ca, {
    subject: checkCommonName(options.commonName),
    sans: [
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ],
    usages: options.clientAuth === true ? [serverAuthOid, clientAuthOid] : [serverAuthOid],
    seconds: validitySeconds(
      options.validityDays ?? defaultServerValidityDays,
      maxLeafValidityDays,
      'server certificate',
    ),
    now: options.now,
    publicKey: spkiDer(publicKey),
  });
}

/** A client certificate for an approved agent: subject CN = client id, extended key usage clientAuth. */
export async function issueClientCertificate(
  ca: CertificateAuthority,
  options: ClientCertificateOptions,
): Promise<IssuedCertificate> {
  return issueLeafWithKey(ca, clientLeaf(options), options.key);
}

function clientLeaf(options: { clientId: string; validityDays?: number; now: Date }) {
  return {
    subject: checkCommonName(options.clientId),
    sans: [],
    usages: [clientAuthOid],
    seconds: validitySeconds(
      options.validityDays ?? defaultClientValidityDays,
      maxLeafValidityDays,
      'client certificate',
    ),
    now: options.now,
  };
}

/**
 * A client certificate for a public key whose private half stays with the agent (the key named in a
 * verified `tls-client-request`): CN = client id, clientAuth. ERR_TLS_CERTIFICATE_INVALID unless
 * the key is ECDSA P-256.
 */
export async function certifyClientPublicKey(
  ca: CertificateAuthority,
  options: ClientPublicKeyOptions,
): Promise<CertifiedPublicKey> {
  if (options.publicKey.type !== 'public' || !isCertificateCurve(options.publicKey)) {
    throw new TlsCertificateInvalidError('A client certificate certifies an ECDSA P-256 public key only.');
  }
  return issueLeaf(ca, { ...clientLeaf(options), publicKey: spkiDer(options.publicKey) });
}
