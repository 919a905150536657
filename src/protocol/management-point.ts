import { z } from 'zod';
import { protocolLimits } from './limits.js';

/**
 * Request and response bodies of the management point (docs/spec/management-point.md). Signed
 * documents travel as their encoded envelopes (strings), verified by the receiver.
 */
const envelopeText = z.string().min(2).max(protocolLimits.maxEnvelopeBytes);

/** A PEM certificate (docs/tls.md): at most 64 KiB, read and checked by the receiver. */
const certificatePem = z
  .string()
  .min(1)
  .max(64 * 1024);

/**
 * GET /mp/v1/trust: what an agent needs to check C1 and C2. When the site serves HTTPS it adds
 * the hierarchy TLS CA certificate and the root's `tls-ca` endorsement of it (docs/tls.md); both
 * are optional, so agents and sites of earlier releases keep working over plain HTTP.
 */
export const trustBundleSchema = z.strictObject({
  siteCode: z.string().regex(/^[A-Z0-9]{3}$/),
  rootChain: z.array(envelopeText).min(1).max(64),
  siteCertificates: z.array(envelopeText).min(1).max(32),
  mpCertificate: envelopeText,
  /**
   * The mp-certificates of every management point of the site (docs/scale-out.md): agents learn
   * where else they may poll, and accept a list signed by any of them (C2, C3). Optional, so
   * agents and sites of earlier releases keep working.
   */
  managementPoints: z.array(envelopeText).max(16).optional(),
  tlsCaCertificate: certificatePem.optional(),
  tlsCaEndorsement: envelopeText.optional(),
});

/** POST /mp/v1/clients/{clientId}/certificate request: a `tls-client-request` envelope. */
export const clientCertificateRequestSchema = z.strictObject({
  request: z
    .string()
    .min(2)
    .max(64 * 1024),
});

/** The answer: the client certificate (PEM) for the requested key, and when it expires. */
export const clientCertificateAnswerSchema = z.strictObject({
  certificate: certificatePem,
  notAfter: z.string().max(64),
});

/** POST /mp/v1/register answer. */
export const registrationAnswerSchema = z.strictObject({
  clientId: z.string().regex(/^[0-9a-f]{64}$/),
  state: z.enum(['pending', 'approved', 'revoked']),
});

/** POST /mp/v1/reports request: a batch of encoded client-report envelopes. */
export const reportBatchSchema = z.strictObject({
  reports: z.array(envelopeText).min(1).max(protocolLimits.maxReportsPerRequest),
});

/** One result per report, in request order. Stored and duplicate reports are acknowledged. */
export const reportResultSchema = z.strictObject({
  messageId: z.string().max(128).nullable(),
  status: z.enum(['stored', 'duplicate', 'rejected']),
  code: z.string().max(64).nullable(),
});

export const reportBatchAnswerSchema = z.strictObject({
  results: z.array(reportResultSchema).max(protocolLimits.maxReportsPerRequest),
  /** The site asks for a full inventory when a delta's base is not the one it holds. */
  fullInventoryRequested: z.boolean(),
});

export type TrustBundle = z.output<typeof trustBundleSchema>;
export type ClientCertificateAnswer = z.output<typeof clientCertificateAnswerSchema>;
export type RegistrationAnswer = z.output<typeof registrationAnswerSchema>;
export type ReportBatch = z.output<typeof reportBatchSchema>;
export type ReportResult = z.output<typeof reportResultSchema>;
export type ReportBatchAnswer = z.output<typeof reportBatchAnswerSchema>;
