/**
 * The table of signed document kinds: schema, payload type and default byte limit of each
 * (DESIGN.md section 2). Payload types are `application/vnd.steward.<kind>+json`.
 */
import type { z } from 'zod';
import { clientRegistrationSchema } from './client-registration.js';
import { clientReportSchema } from './client-report.js';
import { contentManifestSchema } from './content-manifest.js';
import { locatorAnswerSchema } from './locator-answer.js';
import { mpCertificateSchema } from './mp-certificate.js';
import { policyAssignmentsSchema } from './policy-assignments.js';
import { policyBodySchema } from './policy-body.js';
import { rootSchema } from './root.js';
import { siteCertificateSchema } from './site-certificate.js';
import { siteMessageSchema } from './site-message.js';
import { siteSystemRequestSchema } from './site-system-request.js';
import { tlsCaSchema } from './tls-ca.js';
import { tlsClientRequestSchema } from './tls-client-request.js';

/** Schema of every document kind. */
export const documentSchemas = {
  root: rootSchema,
  'site-certificate': siteCertificateSchema,
  'mp-certificate': mpCertificateSchema,
  'policy-body': policyBodySchema,
  'policy-assignments': policyAssignmentsSchema,
  'content-manifest': contentManifestSchema,
  'client-registration': clientRegistrationSchema,
  'client-report': clientReportSchema,
  'site-message': siteMessageSchema,
  'locator-answer': locatorAnswerSchema,
  'tls-ca': tlsCaSchema,
  'tls-client-request': tlsClientRequestSchema,
  'site-system-request': siteSystemRequestSchema,
} as const;

export type DocumentKind = keyof typeof documentSchemas;

/** A kind's payload after parsing (defaults filled in). */
export type PayloadOf<K extends DocumentKind> = z.output<(typeof documentSchemas)[K]>;

/** A kind's payload as a signer may write it (fields with defaults may be left out). */
export type PayloadInputOf<K extends DocumentKind> = z.input<(typeof documentSchemas)[K]>;

/** Any payload a signer may write. */
export type DocumentInput = { [K in DocumentKind]: PayloadInputOf<K> }[DocumentKind];

export const documentKinds = Object.keys(documentSchemas) as DocumentKind[];

/** True when the text names a document kind. */
export function isDocumentKind(text: string): text is DocumentKind {
  return Object.hasOwn(documentSchemas, text);
}

/** The DSSE payload type of a kind. */
export function payloadTypeOf(kind: DocumentKind): string {
  return `application/vnd.steward.${kind}+json`;
}

const mebibyte = 1024 * 1024;

/**
 * C6: the default envelope byte limit per kind. Manifests (up to 10,000 files) and site messages
 * (up to 1,000 records) are larger than the 1 MiB default; callers may lower any of these.
 */
export const defaultMaxEnvelopeBytes: Readonly<Record<DocumentKind, number>> = {
  root: mebibyte,
  'site-certificate': mebibyte,
  'mp-certificate': mebibyte,
  'policy-body': mebibyte,
  'policy-assignments': mebibyte,
  'content-manifest': 16 * mebibyte,
  'client-registration': mebibyte,
  'client-report': 4 * mebibyte,
  'site-message': 16 * mebibyte,
  'locator-answer': mebibyte,
  'tls-ca': mebibyte,
  'tls-client-request': 64 * 1024,
  'site-system-request': 64 * 1024,
};
