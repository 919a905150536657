/**
 * The server side of transport security (docs/tls.md): TLS options for a listener with a
 * hierarchy-issued (or organisation) certificate, and the client-certificate checks. Revocation
 * takes effect for new connections at once: `isRevoked` is consulted on every new connection
 * (refuseRevokedClients) and may be consulted on every request (checkClientCertificate). It is
 * synchronous on purpose, so no request is read before the answer: keep the revoked serials in
 * memory and update them when a client or site system is revoked.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureVersion, type Server as TlsServer } from 'node:tls';
import { algorithms } from '../algorithms.js';
import {
  normalizeSerial,
  privateKeyMatches,
  readCaCertificate,
  readCertificateChainPem,
} from './certificate-pem.js';
import { TlsCertificateInvalidError, TlsClientRevokedError, TlsClientUntrustedError } from './tls-errors.js';

/** Whether a listener asks for client certificates: never, accepts connections without, or demands one. */
export type ClientCertificateMode = 'none' | 'optional' | 'required';

/** True when the certificate serial (lowercase hex, no leading zeros) is revoked. */
export type RevocationCheck = (serialHex: string) => boolean;

export type TlsServerSettings = {
  certificatePem: string;
  keyPem: string;
  /** CAs whose client certificates are accepted; required unless clientCertificates is 'none'. */
  caPem?: string | readonly string[];
  clientCertificates?: ClientCertificateMode;
};

/** Options for https.createServer and tls.createServer. */
export type TlsServerOptions = {
  readonly cert: string;
  readonly key: string;
  readonly ca?: string[];
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  readonly minVersion: SecureVersion;
};

/**
 * Builds listener options: 'required' refuses, in the handshake, a client without a certificate
 * from the given CAs; 'optional' asks for one but lets the request decide (enrolment comes before a
 * client certificate exists) with checkClientCertificate. ERR_TLS_CERTIFICATE_INVALID when the key
 * does not match the certificate or a CA is missing. The certificate PEM may carry a chain (the
 * server certificate first) and any key type node accepts: an organisation's own certificate.
 */
export function serverTlsOptions(settings: TlsServerSettings): TlsServerOptions {
  const certificate = readCertificateChainPem(settings.certificatePem, 'server certificate');
  if (!privateKeyMatches(certificate, settings.keyPem)) {
    throw new TlsCertificateInvalidError(
      `The private key does not belong to the server certificate ${certificate.subject}.`,
    );
  }
  const mode = settings.clientCertificates ?? 'none';
  const base = {
    cert: settings.certificatePem,
    key: settings.keyPem,
    minVersion: algorithms.certificate.minTlsVersion,
  };
  if (mode === 'none') return Object.freeze({ ...base, requestCert: false, rejectUnauthorized: false });
  const caPems = typeof settings.caPem === 'string' ? [settings.caPem] : [...(settings.caPem ?? [])];
  if (caPems.length === 0) {
    throw new TlsCertificateInvalidError(
      'A listener that asks for client certificates needs the CA that issues them.',
    );
  }
  const ca = caPems.map((pem) => readCaCertificate(pem).toString());
  return Object.freeze({ ...base, ca, requestCert: true, rejectUnauthorized: mode === 'required' });
}

/** The client a certificate identifies: its id (the subject CN), serial and SHA-256 fingerprint. */
export type TlsClientIdentity = { clientId: string; serialHex: string; fingerprint256: string };

/**
 * Checks the client certificate on a connection: none presented (ERR_TLS_CLIENT_UNTRUSTED when
 * `required`, else undefined), not issued by a trusted CA (ERR_TLS_CLIENT_UNTRUSTED), revoked
 * (ERR_TLS_CLIENT_REVOKED). A plain (non-TLS) socket counts as no certificate. For a request hook:
 * `checkClientCertificate(request.socket, { isRevoked })`.
 */
export function checkClientCertificate(
  socket: Socket,
  options: { isRevoked?: RevocationCheck; required?: boolean } = {},
): TlsClientIdentity | undefined {
  const peer = socket instanceof TLSSocket ? socket.getPeerCertificate() : undefined;
  if (!(socket instanceof TLSSocket) || peer === undefined || Object.keys(peer).length === 0) {
    if (options.required === true) {
      throw new TlsClientUntrustedError(
        'This endpoint needs a client certificate issued by the hierarchy CA.',
      );
    }
    return undefined;
  }
  if (!socket.authorized) {
    const reason =
      socket.authorizationError instanceof Error ? socket.authorizationError.message : 'untrusted';
    throw new TlsClientUntrustedError(
      `The client certificate is not issued by the hierarchy CA (${reason}).`,
    );
  }
  const serialHex = normalizeSerial(peer.serialNumber);
  const commonName: unknown = peer.subject.CN;
  const clientId = Array.isArray(commonName) ? String(commonName[0]) : String(commonName);
  if (options.isRevoked?.(serialHex) === true) {
    throw new TlsClientRevokedError(
      `The client certificate ${serialHex} of ${clientId.slice(0, 64)} is revoked.`,
    );
  }
  return { clientId, serialHex, fingerprint256: peer.fingerprint256 };
}

/**
 * Closes, as soon as its handshake completes and before any request is read, every connection
 * whose client certificate is revoked or not issued by a trusted CA. Connections without a
 * certificate are left to the listener's mode and the request hooks. Returns a function that
 * removes the hook. `onRefused` is told why (for logs and the audit).
 */
export function refuseRevokedClients(
  server: TlsServer,
  isRevoked: RevocationCheck,
  onRefused?: (error: TlsClientRevokedError | TlsClientUntrustedError, socket: TLSSocket) => void,
): () => void {
  const listener = (socket: TLSSocket) => {
    try {
      checkClientCertificate(socket, { isRevoked });
    } catch (error) {
      socket.destroy();
      onRefused?.(
        error instanceof TlsClientRevokedError || error instanceof TlsClientUntrustedError
          ? error
          : new TlsClientUntrustedError('The client certificate could not be checked.', { cause: error }),
        socket,
      );
    }
  };
  server.prependListener('secureConnection', listener);
  return () => {
    server.removeListener('secureConnection', listener);
  };
}
