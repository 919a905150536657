import { statusReport } from '../../src/agent/reports/status-report.js';
import { protocolLimits } from '../../src/protocol/index.js';
import {
  pae,
  parseEnvelope,
  payloadTypeOf,
  publicKeyFromRecord,
  signDocument,
  SigningKey,
  verifyClientReport,
} from '../../src/trust/index.js';
import { SeededRandom } from '../harness/rng.js';

export interface ReportCosts {
  /** JSON.parse of the envelope text alone. */
  jsonParseUs: number;
  /** parseEnvelope: JSON.parse and the envelope schema (the site does this once per report in acceptReports). */
  parseEnvelopeUs: number;
  /** publicKeyFromRecord: the registered key turned into a node:crypto key (once per report). */
  publicKeyUs: number;
  /** One raw Ed25519 verification of the report's PAE. */
  verifyUs: number;
  /** verifyClientReport on a parsed envelope: schema, signature, payload schema, validity. */
  verifyClientReportUs: number;
}

/**
 * The CPU cost, in this process, of the steps the management point takes for one status report
 * (src/roles/management-point/report-intake.ts), measured on a real signed report: evidence for
 * where ingest time goes, beside the site's CPU profile.
 */
export function measureReportCosts(seed: number, durationMs: number): ReportCosts {
  const key = SigningKey.fromSeed(SeededRandom.derive(seed, 'report-costs').bytes(32));
  const now = new Date();
  const report = signDocument(
    {
      kind: 'client-report',
      sequence: 1,
      messageId: `${key.keyId.slice(0, 16)}-1-costs`,
      clientId: key.keyId,
      siteCode: 'BEN',
      reportType: 'status',
      body: statusReport('program-succeeded', { deploymentId: 'BEN-dep-0123456789', policyVersion: 1 }, now, [
        '0',
        '12',
      ]),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + protocolLimits.reportValidityMs).toISOString(),
    },
    [key],
  );
  const record = key.publicRecord();
  const envelope = parseEnvelope(report.encoded);
  const verifying = publicKeyFromRecord(record);
  const signature = Buffer.from(envelope.signatures[0]?.sig ?? '', 'base64');
  const message = pae(payloadTypeOf('client-report'), report.payloadBytes);
  return {
    jsonParseUs: perOp(durationMs, () => JSON.parse(report.encoded) as unknown),
    parseEnvelopeUs: perOp(durationMs, () => parseEnvelope(report.encoded, { maxSignatures: 1 })),
    publicKeyUs: perOp(durationMs, () => publicKeyFromRecord(record)),
    verifyUs: perOp(durationMs, () => verifying.verify(message, signature)),
    verifyClientReportUs: perOp(durationMs, () => verifyClientReport(envelope, verifying, now)),
  };
}

function perOp(durationMs: number, op: () => unknown): number {
  for (let i = 0; i < 50; i += 1) op();
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let i = 0; i < 20; i += 1) op();
    count += 20;
    elapsed = performance.now() - started;
  }
  return (elapsed * 1000) / count;
}
