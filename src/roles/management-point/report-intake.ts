import {
  isStewardError,
  parseEnvelope,
  publicKeyFromRecord,
  verifyClientReport,
  type Envelope,
} from '../../trust/index.js';
import { protocolLimits, type ReportBatchAnswer, type ReportResult } from '../../protocol/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { storeReports, type InboxReport } from '../../site/reports/report-inbox.js';
import { typedReportBody } from '../../site/reports/report-bodies.js';
import {
  ClientNotApprovedError,
  ClientRevokedError,
  ReportExpiredError,
  ReportRejectedError,
  UnknownClientError,
  WrongSiteError,
} from './mp-errors.js';

/**
 * S2: every report is verified against the registered key of the client it names, must come from
 * an approved client, and must be within its validity window; its body is checked against the
 * schema of its type. Verified reports are committed to the inbox in one transaction and only then
 * acknowledged; a message id seen before is acknowledged as a duplicate and not stored again.
 */
export async function acceptReports(
  db: SiteDb,
  siteCode: string,
  encodedReports: readonly string[],
  now: Date,
): Promise<ReportBatchAnswer> {
  const parsed = encodedReports.map((encoded) => {
    try {
      const envelope = parseEnvelope(encoded, {
        maxBytes: protocolLimits.maxEnvelopeBytes,
        maxSignatures: 1,
      });
      return { encoded, envelope, error: undefined };
    } catch (error) {
      return { encoded, envelope: undefined, error };
    }
  });
  const clientIds = [
    ...new Set(
      parsed.flatMap((p) => (p.envelope === undefined ? [] : p.envelope.signatures.map((s) => s.keyid))),
    ),
  ];
  const clients = new Map(
    clientIds.length === 0
      ? []
      : (
          await db
            .selectFrom('clients')
            .select(['id', 'public_key', 'state', 'inventory_resync'])
            .where('id', 'in', clientIds)
            .execute()
        ).map((row) => [row.id, row]),
  );

  const results: ReportResult[] = [];
  const toStore: InboxReport[] = [];
  let fullInventoryRequested = false;
  for (const item of parsed) {
    try {
      if (item.envelope === undefined) throw item.error;
      const report = verifyOne(item.envelope, item.encoded, clients, siteCode, now);
      if (clients.get(report.clientId)?.inventory_resync === true) fullInventoryRequested = true;
      toStore.push(report);
      results.push({ messageId: report.messageId, status: 'stored', code: null });
    } catch (error) {
      const code = isStewardError(error) ? error.code : 'ERR_REPORT_REJECTED';
      results.push({ messageId: null, status: 'rejected', code });
    }
  }
  const fresh = await storeReports(db, toStore, now);
  // A message id is stored once: a copy stored before, or an earlier copy in this batch, makes it a duplicate.
  const acknowledged = new Set<string>();
  for (const result of results) {
    if (result.status !== 'stored' || result.messageId === null) continue;
    if (!fresh.has(result.messageId) || acknowledged.has(result.messageId)) result.status = 'duplicate';
    acknowledged.add(result.messageId);
  }
  return { results, fullInventoryRequested };
}

function verifyOne(
  envelope: Envelope,
  encoded: string,
  clients: ReadonlyMap<string, { public_key: string; state: string; id: string }>,
  siteCode: string,
  now: Date,
): InboxReport {
  const keyId = envelope.signatures[0]?.keyid;
  const client = keyId === undefined ? undefined : clients.get(keyId);
  if (client === undefined)
    throw new UnknownClientError('the report is not signed by a client registered here');
  if (client.state === 'revoked') throw new ClientRevokedError(`client ${client.id} is revoked`);
  if (client.state !== 'approved')
    throw new ClientNotApprovedError(`client ${client.id} is not approved yet`);
  const opened = verifyClientReport(
    envelope,
    publicKeyFromRecord({ keyId: client.id, publicKey: client.public_key }),
    now,
  );
  const payload = opened.payload;
  if (payload.siteCode !== siteCode)
    throw new WrongSiteError(`the report is addressed to site ${payload.siteCode}`);
  if (Date.parse(payload.expiresAt) - Date.parse(payload.issuedAt) > protocolLimits.reportValidityMs) {
    throw new ReportExpiredError('the report claims a validity longer than the replay window allows');
  }
  try {
    typedReportBody(payload);
  } catch (cause) {
    throw new ReportRejectedError('the report body does not match its type', { cause });
  }
  return {
    messageId: payload.messageId,
    clientId: payload.clientId,
    reportType: payload.reportType,
    sequence: payload.sequence,
    envelope: encoded,
  };
}
