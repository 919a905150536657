/**
 * TLS options for agents and the CLI (docs/tls.md): trust exactly the given CA certificates (the
 * hierarchy CA, or an organisation's CA for an admin API that serves its own certificate), never
 * the system store; present a client certificate once one is issued; optionally check the server's
 * certificate against another name than the one dialled.
 */
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate, type SecureVersion } from 'node:tls';
import { algorithms } from '../algorithms.js';
import { sha256Hex } from '../digest.js';
import { privateKeyMatches, readCaCertificate, readCertificateChainPem } from './certificate-pem.js';
import { TlsCertificateInvalidError } from './tls-errors.js';
import { spkiDer } from './tls-key.js';

/** Options for https.request and tls.connect; spread them into the request options. */
export type TlsClientOptions = {
  /** Only these CAs: giving `ca` replaces node's built-in root store. */
  readonly ca: string[];
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly checkServerIdentity?: (host: string, certificate: PeerCertificate) => Error | undefined;
  readonly rejectUnauthorized: true;
  readonly minVersion: SecureVersion;
};

export type TlsClientSettings = {
  /** The CA certificate(s) to trust: during a CA change, the old and the new. */
  caPem: string | readonly string[];
  clientCertPem?: string;
  clientKeyPem?: string;
  /** Check the server's certificate for this DNS name or IP address instead of the URL's host. */
  serverName?: string;
  /**
   * Also require the server's certificate to hold exactly this public key (lowercase hex SHA-256 of
   * its SubjectPublicKeyInfo DER): enrolment re-connects to the server it first read the trust
   * bundle from, and refuses any other (docs/tls.md).
   */
  serverPublicKeySha256?: string;
};

/**
 * Builds TLS client options. ERR_TLS_CERTIFICATE_INVALID when a CA PEM is not a CA certificate,
 * when only one of the client certificate and key is given, or when they do not match.
 */
export function tlsOptionsFor(settings: TlsClientSettings): TlsClientOptions {
  const caPems = typeof settings.caPem === 'string' ? [settings.caPem] : [...settings.caPem];
  if (caPems.length === 0) throw new TlsCertificateInvalidError('At least one CA certificate is required.');
  const ca = caPems.map((pem) => readCaCertificate(pem).toString());
  const options: {
    -readonly [K in keyof TlsClientOptions]: TlsClientOptions[K];
  } = { ca, rejectUnauthorized: true, minVersion: algorithms.certificate.minTlsVersion };
  const { clientCertPem, clientKeyPem, serverName } = settings;
  if ((clientCertPem === undefined) !== (clientKeyPem === undefined)) {
    throw new TlsCertificateInvalidError('A client certificate and its private key are given together.');
  }
  if (clientCertPem !== undefined && clientKeyPem !== undefined) {
    const certificate = readCertificateChainPem(clientCertPem, 'client certificate');
    if (!privateKeyMatches(certificate, clientKeyPem)) {
      throw new TlsCertificateInvalidError(
        `The private key does not belong to the client certificate ${certificate.subject}.`,
      );
    }
    options.cert = clientCertPem;
    options.key = clientKeyPem;
  }
  const pinnedKey = settings.serverPublicKeySha256;
  if (pinnedKey !== undefined && !/^[0-9a-f]{64}$/.test(pinnedKey)) {
    throw new TlsCertificateInvalidError('A server public key hash is a lowercase hex SHA-256.');
  }
  if (serverName !== undefined && isIP(serverName) === 0) options.servername = serverName;
  if (serverName !== undefined || pinnedKey !== undefined) {
    options.checkServerIdentity = (host, certificate) => {
      const nameProblem = checkServerIdentity(serverName ?? host, certificate);
      if (nameProblem !== undefined) return nameProblem;
      if (pinnedKey !== undefined && peerPublicKeySha256(certificate) !== pinnedKey) {
        return Object.assign(
          new Error('The server presented another public key than the one it was first seen with.'),
          { code: 'CERT_REJECTED' },
        );
      }
      return undefined;
    };
  }
  return Object.freeze(options);
}

/** SHA-256 of the SubjectPublicKeyInfo of a peer certificate; '' when it cannot be read. */
export function peerPublicKeySha256(certificate: PeerCertificate): string {
  try {
    return sha256Hex(spkiDer(new X509Certificate(certificate.raw).publicKey));
  } catch {
    return '';
  }
}
