import type { ReportInboxTable } from '../database/schema.js';
import type { SiteDb } from '../database/site-db.js';

export interface InboxReport {
  messageId: string;
  clientId: string;
  reportType: ReportInboxTable['report_type'];
  sequence: number;
  envelope: string;
}

/**
 * Stores verified reports in the durable inbox (DESIGN.md section 6). Returns the message ids that
 * were new; the others were stored before (a resend or a replay) and are acknowledged without a
 * second copy. The caller acknowledges only after this commits. Reports in `appliedNow` are stored
 * as processed: the caller applies them in the same transaction (the new ones only).
 */
export async function storeReports(
  db: SiteDb,
  reports: readonly InboxReport[],
  now: Date,
  appliedNow: ReadonlySet<string> = new Set(),
): Promise<Set<string>> {
  if (reports.length === 0) return new Set();
  const inserted = await db
    .insertInto('report_inbox')
    .values(
      reports.map((report) => ({
        message_id: report.messageId,
        client_id: report.clientId,
        report_type: report.reportType,
        sequence: report.sequence,
        envelope: report.envelope,
        received_at: now,
        processed_at: appliedNow.has(report.messageId) ? now : null,
      })),
    )
    .onConflict((oc) => oc.column('message_id').doNothing())
    .returning('message_id')
    .execute();
  return new Set(inserted.map((row) => row.message_id));
}

/** The oldest unprocessed reports, for the inbox processor. */
export async function unprocessedReports(
  db: SiteDb,
  limit: number,
): Promise<(InboxReport & { receivedAt: Date })[]> {
  const rows = await db
    .selectFrom('report_inbox')
    .select(['message_id', 'client_id', 'report_type', 'sequence', 'envelope', 'received_at'])
    .where('processed_at', 'is', null)
    .orderBy('received_at')
    .orderBy('sequence')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    messageId: row.message_id,
    clientId: row.client_id,
    reportType: row.report_type,
    sequence: row.sequence,
    envelope: row.envelope,
    receivedAt: new Date(row.received_at),
  }));
}

export async function markProcessed(db: SiteDb, messageIds: readonly string[], now: Date): Promise<void> {
  if (messageIds.length === 0) return;
  await db
    .updateTable('report_inbox')
    .set({ processed_at: now })
    .where('message_id', 'in', messageIds)
    .execute();
}

/**
 * Drops processed reports older than the replay window (S2): a report older than that is refused
 * by its expiry, so its id need not be remembered any longer.
 */
export async function pruneInbox(db: SiteDb, olderThan: Date): Promise<number> {
  const result = await db
    .deleteFrom('report_inbox')
    .where('processed_at', 'is not', null)
    .where('received_at', '<', olderThan)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
