/**
 * The TLS pieces that need no X.509 library (node's own parser suffices): CA endorsement checks,
 * client and server TLS options, httpsFetch, revocation hooks, renewal, TLS keys and key files.
 * Re-exported from src/trust/index.ts for agents and the CLI, and from ./index.ts with issuing.
 */
export {
  TlsCaMismatchError,
  TlsCertificateInvalidError,
  TlsServerUntrustedError,
  TlsClientRefusedError,
  TlsClientUntrustedError,
  TlsClientRevokedError,
  HttpsUrlError,
  HttpsRequestError,
  tlsErrorClasses,
  type TlsError,
} from './tls-errors.js';
export { TlsKey, tlsKeyPem, maxTlsKeyPemBytes, type TlsPublicKey } from './tls-key.js';
export { writeTlsKeyFile, readTlsKeyFile } from './tls-key-file.js';
export {
  normalizeSerial,
  describeCertificate,
  isIssuedBy,
  maxCertificatePemBytes,
  type CertificateSummary,
} from './certificate-pem.js';
export { verifyCaEndorsement, type VerifiedTlsCa } from './endorsement.js';
export { certificateNeedsRenewal, defaultRenewalFraction } from './renewal.js';
export {
  tlsOptionsFor,
  peerPublicKeySha256,
  type TlsClientOptions,
  type TlsClientSettings,
} from './client-options.js';
export {
  httpsFetch,
  httpsFetchUnverified,
  httpsStream,
  defaultMaxResponseBytes,
  defaultHttpsTimeoutMs,
  type HttpsFetchOptions,
  type HttpsResponse,
  type UnverifiedHttpsResponse,
  type HttpsStreamOptions,
  type HttpsStreamResponse,
} from './https-fetch.js';
export {
  serverTlsOptions,
  checkClientCertificate,
  refuseRevokedClients,
  type ClientCertificateMode,
  type RevocationCheck,
  type TlsServerSettings,
  type TlsServerOptions,
  type TlsClientIdentity,
} from './server.js';
