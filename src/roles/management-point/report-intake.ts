import {
  isStewardError,
  parseEnvelope,
  publicKeyFromRecord,
  verifyClientReport,
  type Envelope,
} from '../../trust/index.js';
import { protocolLimits, type ReportBatchAnswer, type ReportResult } from '../../protocol/index.js';
import { inTransaction, type SiteDb } from '../../site/database/site-db.js';
import { storeReports, type InboxReport } from '../../site/reports/report-inbox.js';
import { typedReportBody, type TypedReport } from '../../site/reports/report-bodies.js';
import { applyStatusMessages, type IncomingStatus } from '../../site/status/status-store.js';
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
 *
 * Status reports are applied in that same transaction (status messages and deployment summaries)
 * and stored already processed: they are the bulk of what a fan-out sends, and applying them here
 * saves reading, parsing and updating every one again in the inbox processor. Only a report that
 * is new in the inbox is applied, so a resend moves nothing twice. Heartbeats and inventory wait
 * for the inbox processor, which also tells collections their members may have changed.
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
            .select(['id', 'public_key', 'state', 'inventory_resync', 'hostname'])
            .where('id', 'in', clientIds)
            .execute()
        ).map((row) => [row.id, row]),
  );

  const results: ReportResult[] = [];
  const toStore: VerifiedReport[] = [];
  let fullInventoryRequested = false;
  for (const item of parsed) {
    try {
      if (item.envelope === undefined) throw item.error;
      const verified = verifyOne(item.envelope, item.encoded, clients, siteCode, now);
      const report = verified.report;
      if (clients.get(report.clientId)?.inventory_resync === true) fullInventoryRequested = true;
      toStore.push(verified);
      results.push({ messageId: report.messageId, status: 'stored', code: null });
    } catch (error) {
      const code = isStewardError(error) ? error.code : 'ERR_REPORT_REJECTED';
      results.push({ messageId: null, status: 'rejected', code });
    }
  }
  const fresh =
    toStore.length === 0
      ? new Set<string>()
      : await inTransaction(db, async (trx) => {
          const statusIds = new Set(
            toStore.filter((v) => v.typed.type === 'status').map((v) => v.report.messageId),
          );
          const stored = await storeReports(
            trx,
            toStore.map((v) => v.report),
            now,
            statusIds,
          );
          await applyStatusMessages(trx, siteCode, freshStatuses(toStore, stored, clients), now);
          return stored;
        });
  // A message id is stored once: a copy stored before, or an earlier copy in this batch, makes it a duplicate.
  const acknowledged = new Set<string>();
  for (const result of results) {
    if (result.status !== 'stored' || result.messageId === null) continue;
    if (!fresh.has(result.messageId) || acknowledged.has(result.messageId)) result.status = 'duplicate';
    acknowledged.add(result.messageId);
  }
  return { results, fullInventoryRequested };
}

interface VerifiedReport {
  report: InboxReport;
  typed: TypedReport;
}

interface RegisteredClient {
  id: string;
  public_key: string;
  state: string;
  hostname: string;
}

/** The status messages of reports that are new in the inbox, each report once. */
function freshStatuses(
  verified: readonly VerifiedReport[],
  fresh: ReadonlySet<string>,
  clients: ReadonlyMap<string, RegisteredClient>,
): IncomingStatus[] {
  const seen = new Set<string>();
  const statuses: IncomingStatus[] = [];
  for (const { report, typed } of verified) {
    if (typed.type !== 'status' || !fresh.has(report.messageId) || seen.has(report.messageId)) continue;
    seen.add(report.messageId);
    const machine = clients.get(report.clientId)?.hostname ?? report.clientId;
    typed.body.messages.forEach((message, index) => {
      statuses.push({
        messageId: `${report.messageId}:${index}`,
        clientId: report.clientId,
        machine,
        message,
      });
    });
  }
  return statuses;
}

function verifyOne(
  envelope: Envelope,
  encoded: string,
  clients: ReadonlyMap<string, RegisteredClient>,
  siteCode: string,
  now: Date,
): VerifiedReport {
  const keyId = envelope.signatures[0]?.keyid;
  const client = keyId === undefined ? undefined : clients.get(keyId);
  if (client === undefined)
    throw new UnknownClientError('the report is not signed by a client registered here');
  if (client.state === 'revoked') throw new ClientRevokedError(`client ${client.id} is revoked`);
  if (client.state !== 'approved')
    throw new ClientNotApprovedError(`client ${client.id} is not approved yet`);
  // The text, not the parsed object: opening it parses it once more (C6), with no re-encoding.
  const opened = verifyClientReport(
    encoded,
    publicKeyFromRecord({ keyId: client.id, publicKey: client.public_key }),
    now,
  );
  const payload = opened.payload;
  if (payload.siteCode !== siteCode)
    throw new WrongSiteError(`the report is addressed to site ${payload.siteCode}`);
  if (Date.parse(payload.expiresAt) - Date.parse(payload.issuedAt) > protocolLimits.reportValidityMs) {
    throw new ReportExpiredError('the report claims a validity longer than the replay window allows');
  }
  let typed: TypedReport;
  try {
    typed = typedReportBody(payload);
  } catch (cause) {
    throw new ReportRejectedError('the report body does not match its type', { cause });
  }
  return {
    report: {
      messageId: payload.messageId,
      clientId: payload.clientId,
      reportType: payload.reportType,
      sequence: payload.sequence,
      envelope: encoded,
    },
    typed,
  };
}
