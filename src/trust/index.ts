/**
 * The trust core's public API (docs/spec/trust.md). Other contexts import from here only.
 */
export { StewardError, isStewardError } from './errors.js';
export * from './trust-errors.js';

export { algorithms, type ScryptCost } from './algorithms.js';
export { isCanonicalBase64 } from './base64.js';
export { sha256Hex, createSha256, isSha256Hex, type Sha256 } from './digest.js';
export {
  randomToken,
  randomId,
  constantTimeEqual,
  hashPassword,
  verifyPassword,
  maxPasswordBytes,
} from './secrets.js';

export { keyIdOf, fingerprintOf, matchesFingerprint, parseFingerprint } from './fingerprint.js';
export { publicKeyRecordSchema, keyIdSchema, type PublicKeyRecord } from './public-key-record.js';
export { SigningKey, VerifyingKey, publicKeyFromRecord } from './keys.js';
export {
  writeKeyFile,
  readKeyFile,
  createSecretFile,
  maxKeyFileBytes,
  type KeySecret,
  type KeyFileOptions,
} from './key-file.js';

export {
  pae,
  signEnvelope,
  encodeEnvelope,
  parseEnvelope,
  envelopePayloadBytes,
  defaultEnvelopeLimits,
  type Envelope,
  type EnvelopeLimits,
} from './dsse.js';
export { verifyEnvelope, type TrustedKeys } from './envelope-verify.js';

export {
  documentSchemas,
  documentKinds,
  payloadTypeOf,
  defaultMaxEnvelopeBytes,
  type DocumentKind,
  type PayloadOf,
  type PayloadInputOf,
  type DocumentInput,
} from './documents/kinds.js';
export {
  signDocument,
  openDocument,
  parsePayload,
  readEnvelope,
  type SignedDocument,
  type OpenedDocument,
  type DocumentLimits,
} from './documents/open.js';
export { clockSkewMs } from './documents/validity.js';
export { isSafeContentPath, contentPathProblem, maxContentPathLength } from './documents/content-path.js';
export type { RootPayload } from './documents/root.js';
export type { SiteCertificatePayload } from './documents/site-certificate.js';
export type { MpCertificatePayload } from './documents/mp-certificate.js';
export type { PolicyBodyPayload } from './documents/policy-body.js';
export type { PolicyAssignmentsPayload } from './documents/policy-assignments.js';
export type { ContentManifestPayload } from './documents/content-manifest.js';
export type { ClientRegistrationPayload } from './documents/client-registration.js';
export type { ClientReportPayload } from './documents/client-report.js';
export type { SiteMessagePayload } from './documents/site-message.js';
export type { TlsCaPayload } from './documents/tls-ca.js';
export {
  maxTlsClientRequestValidityMs,
  type TlsClientRequestPayload,
} from './documents/tls-client-request.js';
export {
  maxSiteSystemRequestValidityMs,
  type SiteSystemRequestPayload,
} from './documents/site-system-request.js';
export {
  siteSystemProof,
  siteSystemProofKey,
  verifySiteSystemProof,
  type SiteSystemProofFields,
} from './site-system-proof.js';
export {
  maxLocatorAnswerValidityMs,
  maxLocatorManagementPoints,
  type LocatorAnswerPayload,
} from './documents/locator-answer.js';

export { createRootDocument, type TrustedRoot, type RootFields } from './root.js';
export {
  followRotations,
  defaultMaxRotationSteps,
  type RotationOptions,
  type RootInput,
} from './rotation.js';
export { trustRootFromPin, trustRootOnFirstUse } from './root-anchor.js';

export {
  issueSiteCertificate,
  issueMpCertificate,
  verifySiteCertificate,
  verifyMpCertificate,
  type VerifiedCertificate,
  type SiteCertificateFields,
  type MpCertificateFields,
} from './certificates.js';
export {
  acceptAssignments,
  acceptPolicyBody,
  acceptContentManifest,
  type AssignmentsContext,
  type PolicyBodyContext,
  type ContentManifestContext,
} from './client-checks.js';
export { createContentVerifier, type ContentVerifier } from './content-verifier.js';
export {
  acceptLocatorAnswer,
  certifiedSiteKeys,
  type CertifiedSiteKey,
  type LocatorAnswerContext,
} from './locator-checks.js';
export {
  parseIpAddress,
  formatIpAddress,
  readNetworkBoundary,
  isCanonicalBoundary,
  boundaryContains,
  boundariesOverlap,
  boundarySize,
  maxAddressTextLength,
  maxBoundaryTextLength,
  type IpFamily,
  type IpAddressValue,
  type NetworkBoundary,
  type BoundaryReading,
} from './network-boundary.js';
export { joinProof, verifyJoinProof, type JoinProofFields } from './join-proof.js';
export {
  verifyRegistration,
  verifyClientReport,
  verifyTlsClientRequest,
  type VerifiedRegistration,
  type VerifiedTlsClientRequest,
} from './site-checks.js';

// Transport security, client side (docs/tls.md); issuing lives in ./tls/index.ts.
export * from './tls/client.js';
