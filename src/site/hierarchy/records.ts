import { z } from 'zod';
import { securityModeSchema } from '../security-mode/security-mode.js';
import { SiteRecordInvalidError } from './hierarchy-errors.js';

/**
 * The records that travel inside `site-message` envelopes (docs/spec/hierarchy.md). The envelope
 * is verified first (S3); then each record's body is parsed with the schema of its type, every
 * field bounded (C6). Signed documents inside records (policy bodies, certificates, root
 * documents, client reports, join requests) are opened again by the code that applies them.
 */
const code = z.string().regex(/^[A-Z0-9]{3}$/);
const id = (max = 128) => z.string().min(1).max(max);
const time = z.iso.datetime();
const envelope = z
  .string()
  .min(2)
  .max(4 * 1024 * 1024);
const text = (max: number) => z.string().max(max);
const url = z.url().max(2048);
const keyRecord = z.strictObject({
  keyId: z.string().regex(/^[0-9a-f]{64}$/),
  publicKey: z.string().max(64),
});
const siteType = z.enum(['central', 'primary', 'secondary']);
const pem = z
  .string()
  .min(1)
  .max(64 * 1024);

/** What a site asks its TLS certificate for: its public key (base64 SPKI DER) and the names it serves. */
export const siteTlsRequestShape = {
  publicKey: z.string().min(1).max(512),
  dnsNames: z.array(z.string().min(1).max(253)).max(32),
  ipAddresses: z.array(z.string().min(1).max(64)).max(32),
};
export const siteTlsRequestSchema = z.strictObject(siteTlsRequestShape);
export type SiteTlsRequest = z.output<typeof siteTlsRequestSchema>;

const programSchema = z.strictObject({
  name: text(128).min(1),
  commandLine: text(8192).min(1),
  workingDirectory: text(1024),
  environment: z.record(z.string().max(128), z.string().max(4096)),
  timeLimitSeconds: z.number().int().min(1),
  elevated: z.boolean(),
  successExitCodes: z.array(z.number().int()).min(1).max(32),
});

const summarySchema = z.strictObject({
  targeted: z.number().int().min(0),
  received: z.number().int().min(0),
  downloading: z.number().int().min(0),
  running: z.number().int().min(0),
  succeeded: z.number().int().min(0),
  failed: z.number().int().min(0),
  timedOut: z.number().int().min(0),
});

export const recordSchemas = {
  // ---- down: from a parent to its children ----
  package: z.strictObject({
    originSite: code,
    packageId: id(64),
    name: text(128).min(1),
    description: text(1000),
    version: id(64),
    manifestHash: z.string().regex(/^[0-9a-f]{64}$/),
    totalSize: z.number().int().min(0),
    fileCount: z.number().int().min(1),
    programs: z.array(programSchema).min(1).max(32),
    /** The distribution point the child pulls the content from (its parent's). */
    sourceUrl: url,
  }),
  collection: z.strictObject({
    originSite: code,
    collectionId: id(64),
    name: text(256).min(1),
    description: text(1000),
    rule: text(8192).nullable(),
    directMembers: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(100_000),
  }),
  deployment: z.strictObject({
    originSite: code,
    deploymentId: id(64),
    name: text(512).min(1),
    packageId: id(64),
    packageVersion: id(64),
    programName: text(128).min(1),
    collectionId: id(64),
    availableAt: time,
    mandatoryAt: time.nullable(),
    expiresAt: time.nullable(),
    rerun: z.enum(['never', 'always', 'if-failed', 'if-succeeded']),
    state: z.enum(['active', 'disabled']),
    policyId: id(128),
    policyVersion: z.number().int().min(1),
    /** The policy body signed by the origin site's key (C4 at the agents; checked here too). */
    policyBody: envelope,
  }),
  root: z.strictObject({ envelope }),
  certificate: z.strictObject({ envelope }),
  'join-result': z.strictObject({
    joinId: id(64),
    /** The site that handles the join (the child's parent); sites above relay toward it. */
    parentCode: code,
    childCode: code,
    state: z.enum(['certified', 'refused']),
    siteCertificate: envelope.nullable(),
    mpCertificate: envelope.nullable(),
    /** The child site server's TLS certificate from the hierarchy CA (PEM), when it asked for one. */
    tlsCertificate: pem.nullable().optional(),
    error: text(1000).nullable(),
  }),
  /** A renewed site server TLS certificate, on its way down to the site it names. */
  'site-tls-certificate': z.strictObject({ siteCode: code, certificate: pem }),
  /** An agent's TLS client certificate from the hierarchy CA, on its way down to its site. */
  'client-tls-certificate': z.strictObject({
    siteCode: code,
    clientId: z.string().regex(/^[0-9a-f]{64}$/),
    certificate: pem,
  }),
  // ---- up: from a child to its parent ----
  'site-control': z.strictObject({
    siteCode: code,
    parentCode: code,
    siteType,
    name: text(256),
    version: z.number().int().min(1),
    url,
    siteSystems: z
      .array(z.strictObject({ role: text(64), name: text(256), urls: z.array(url).max(8) }))
      .max(256),
    /** The sites whose boundaries this control carries: a primary and its secondary sites (none for a secondary). */
    boundarySites: z.array(code).max(256),
    boundaries: z
      .array(z.strictObject({ siteCode: code, kind: z.enum(['subnet', 'range']), value: text(100) }))
      .max(10_000),
    settings: z.strictObject({
      legacyInterop: z.boolean(),
      automaticKeyExchange: z.boolean(),
      /** Absent from the site control of a site that predates security modes. */
      securityMode: securityModeSchema.optional(),
      statusForwarding: text(64),
    }),
  }),
  client: z.strictObject({
    siteCode: code,
    clientId: z.string().regex(/^[0-9a-f]{64}$/),
    publicKey: z.string().max(64),
    hostname: text(253).min(1),
    state: z.enum(['pending', 'approved', 'revoked']),
    mode: z.enum(['secure', 'directory-only', 'trust-on-first-use']),
    rootSource: z.enum(['pinned', 'directory', 'first-use']),
    registeredAt: time,
    approvedAt: time.nullable(),
    revokedAt: time.nullable(),
  }),
  discovery: z.strictObject({
    clientId: z.string().regex(/^[0-9a-f]{64}$/),
    hostname: text(255).min(1),
    domain: text(255).nullable(),
    addresses: z.array(text(64)).max(64),
    agentVersion: text(64).nullable(),
    updatedAt: time,
  }),
  inventory: z.strictObject({
    clientId: z.string().regex(/^[0-9a-f]{64}$/),
    facts: z.record(z.string().max(128), z.string().max(1024)),
    software: z
      .array(z.strictObject({ name: text(255), version: text(255), arch: text(64), source: text(64) }))
      .max(20_000),
    updatedAt: time,
  }),
  status: z.strictObject({
    siteCode: code,
    messageId: id(200),
    clientId: z.string().max(64).nullable(),
    machine: text(256),
    deploymentId: text(128).nullable(),
    statusId: z.number().int().min(1).max(99999),
    severity: z.enum(['info', 'warning', 'error']),
    component: text(64),
    occurredAt: time,
    insertionStrings: z.array(text(1024)).max(10),
  }),
  'deployment-summary': z.strictObject({
    deploymentId: id(64),
    siteCode: code,
    summary: summarySchema,
    updatedAt: time,
  }),
  'certify-request': z.strictObject({
    joinId: id(64),
    parentCode: code,
    childCode: code,
    siteType: z.enum(['primary', 'secondary']),
    siteName: text(256).min(1),
    childUrl: url,
    /** The child's join request, signed by the key it asks to certify (proof of possession). */
    request: envelope,
  }),
  /** A site asks the central site's hierarchy CA to renew its site server certificate. */
  'site-tls-request': z.strictObject({ siteCode: code, ...siteTlsRequestShape }),
  /**
   * An approved agent of a joined site asks the central site's hierarchy CA for a TLS client
   * certificate: its own signed `tls-client-request` (S1), its registered public key, and when its
   * site's management point accepted the request.
   */
  'client-tls-request': z.strictObject({
    siteCode: code,
    clientId: z.string().regex(/^[0-9a-f]{64}$/),
    clientPublicKey: z.string().max(64),
    request: z
      .string()
      .min(2)
      .max(64 * 1024),
    receivedAt: time,
  }),
  /** A client report received by a secondary site's proxy management point, forwarded as signed. */
  'client-report': z.strictObject({ envelope }),
} as const;

export type RecordType = keyof typeof recordSchemas;
export type RecordBody<T extends RecordType> = z.output<(typeof recordSchemas)[T]>;

/** Key records travel as public key records (trust core format). */
export const publicKeyRecord = keyRecord;

export const downRecordTypes: ReadonlySet<RecordType> = new Set([
  'package',
  'collection',
  'deployment',
  'root',
  'certificate',
  'join-result',
  'site-tls-certificate',
  'client-tls-certificate',
]);

export const upRecordTypes: ReadonlySet<RecordType> = new Set([
  'site-control',
  'client',
  'discovery',
  'inventory',
  'status',
  'deployment-summary',
  'certify-request',
  'client-report',
  'site-tls-request',
  'client-tls-request',
]);

export function isRecordType(type: string): type is RecordType {
  return Object.hasOwn(recordSchemas, type);
}

/** Parses a record body with its type's schema: ERR_SITE_RECORD_INVALID otherwise. */
export function readRecord<T extends RecordType>(type: T, body: unknown): RecordBody<T> {
  const parsed = recordSchemas[type].safeParse(body);
  if (!parsed.success) {
    throw new SiteRecordInvalidError(`a ${type} record is invalid: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data as RecordBody<T>;
}

/** A record ready for the outbox. */
export interface OutboundRecord<T extends RecordType = RecordType> {
  type: T;
  body: RecordBody<T>;
}

export function record<T extends RecordType>(type: T, body: RecordBody<T>): OutboundRecord<T> {
  return { type, body };
}
