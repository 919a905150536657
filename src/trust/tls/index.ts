/**
 * Transport security (docs/tls.md): the hierarchy TLS certificate authority, certificate issuance,
 * TLS key files, and the client and server TLS pieces. This entry loads @peculiar/x509 for issuing;
 * code that only connects (agents, the CLI) imports the same client pieces from src/trust/index.ts,
 * which does not load it.
 */
export * from './client.js';
export {
  createHierarchyCa,
  endorseHierarchyCa,
  openCertificateAuthority,
  issueServerCertificate,
  issueClientCertificate,
  certifyClientPublicKey,
  certifyServerPublicKey,
  defaultCaValidityDays,
  maxCaValidityDays,
  defaultServerValidityDays,
  defaultClientValidityDays,
  maxLeafValidityDays,
  type CertificateAuthority,
  type HierarchyCa,
  type HierarchyCaOptions,
  type EndorsementOptions,
  type ServerCertificateOptions,
  type ClientCertificateOptions,
  type IssuedCertificate,
  type CertifiedPublicKey,
  type ClientPublicKeyOptions,
} from './authority.js';
export {
  siteServerCommonName,
  readSiteTlsPublicKey,
  certifySiteServerKey,
  verifySiteServerCertificate,
  siteLinkPeer,
  type SiteTlsPublicKey,
  type SiteServerKeyOptions,
  type VerifiedSiteServerCertificate,
  type SiteLinkPeer,
} from './site-server-certificate.js';
