/**
 * The TLS failure kinds (docs/errors.md, section "TLS"; docs/tls.md). Messages name certificates by
 * subject, serial or SHA-256 and never carry key material.
 */
import { StewardError } from '../errors.js';

/** The CA certificate offered is not the one the root's `tls-ca` endorsement names. */
export class TlsCaMismatchError extends StewardError {
  readonly code = 'ERR_TLS_CA_MISMATCH';
}

/** A certificate or TLS private key cannot be read, is of the wrong type, or is outside its validity. */
export class TlsCertificateInvalidError extends StewardError {
  readonly code = 'ERR_TLS_CERTIFICATE_INVALID';
}

/** The server's certificate is not issued by the hierarchy CA, is out of date or names another host. */
export class TlsServerUntrustedError extends StewardError {
  readonly code = 'ERR_TLS_SERVER_UNTRUSTED';
  override readonly status = 502;
}

/** The server refused this client's certificate (missing, foreign, revoked) during the handshake. */
export class TlsClientRefusedError extends StewardError {
  readonly code = 'ERR_TLS_CLIENT_REFUSED';
  override readonly status = 502;
}

/** Server side: the client presented no certificate where one is required, or one the CA did not issue. */
export class TlsClientUntrustedError extends StewardError {
  readonly code = 'ERR_TLS_CLIENT_UNTRUSTED';
  override readonly status = 401;
}

/** Server side: the client's certificate serial is revoked. */
export class TlsClientRevokedError extends StewardError {
  readonly code = 'ERR_TLS_CLIENT_REVOKED';
  override readonly status = 403;
}

/** An HTTPS URL that httpsFetch refuses (not https, or with credentials). */
export class HttpsUrlError extends StewardError {
  readonly code = 'ERR_HTTPS_URL';
}

/** The HTTPS request failed below HTTP: connection refused or reset, timeout. Retryable. */
export class HttpsRequestError extends StewardError {
  readonly code = 'ERR_HTTPS_FAILED';
  override readonly status = 503;
  override readonly retryable = true;
}

/** Every TLS error class (docs/errors.md lists each under "## TLS"; a test keeps them in step). */
export const tlsErrorClasses = [
  TlsCaMismatchError,
  TlsCertificateInvalidError,
  TlsServerUntrustedError,
  TlsClientRefusedError,
  TlsClientUntrustedError,
  TlsClientRevokedError,
  HttpsUrlError,
  HttpsRequestError,
] as const;

/** Any error the TLS module throws on purpose. */
export type TlsError = InstanceType<(typeof tlsErrorClasses)[number]>;
