import { randomId, signDocument, type SigningKey } from '../../../trust/index.js';
import { inTransaction, toJson, type SiteDb } from '../../database/site-db.js';
import type { OutboundRecord } from '../records.js';

/**
 * The durable outbox of each site link (DESIGN.md section 6): records are queued in the site
 * database in the transaction that produced them, then packed in order into batches. A batch is a
 * `site-message` signed by the site key with the link's next sequence; it is kept, byte for byte,
 * until the other site acknowledges that it committed it, and only then removed.
 */

/** Bytes of record bodies packed into one batch (the site-message envelope limit is 16 MiB). */
export const maxBatchBytes = 6 * 1024 * 1024;
/** Records in one batch (the site-message schema allows 1000). */
export const maxBatchRecords = 500;
/** How long a signed batch is valid; an unsent batch older than this is signed again. */
export const batchValidityMs = 30 * 24 * 3600 * 1000;

/** Queues records on a link, in order, inside the caller's transaction. */
export async function enqueue(
  db: SiteDb,
  linkCode: string,
  records: readonly OutboundRecord[],
  now: Date,
): Promise<void> {
  if (records.length === 0) return;
  const rows = records.map((item) => {
    const body = toJson(item.body);
    return {
      link_code: linkCode,
      record_id: `${item.type}.${randomId().slice(0, 24)}`,
      record_type: item.type,
      body,
      bytes: Buffer.byteLength(body, 'utf8'),
      enqueued_at: now,
      batch_sequence: null,
    };
  });
  for (let start = 0; start < rows.length; start += 200) {
    await db
      .insertInto('site_outbox')
      .values(rows.slice(start, start + 200))
      .execute();
  }
}

export interface OutboundBatch {
  linkCode: string;
  sequence: number;
  envelope: string;
  recordCount: number;
  bytes: number;
}

/**
 * The batch to send next on a link: the unacknowledged one if there is one (re-signed when it has
 * expired), else a new one packed from the oldest waiting records with the next sequence. One
 * batch is in flight per link, so the other site applies them strictly in order.
 */
export async function nextBatch(
  db: SiteDb,
  link: { code: string; localCode: string; siteKey: SigningKey },
  now: Date,
): Promise<OutboundBatch | undefined> {
  return inTransaction(db, async (trx) => {
    const pending = await trx
      .selectFrom('site_outbox_batches')
      .selectAll()
      .where('link_code', '=', link.code)
      .orderBy('sequence')
      .limit(1)
      .executeTakeFirst();
    if (pending !== undefined) {
      if (new Date(pending.created_at).getTime() + batchValidityMs * 0.9 > now.getTime()) {
        return {
          linkCode: link.code,
          sequence: pending.sequence,
          envelope: pending.envelope,
          recordCount: pending.record_count,
          bytes: pending.bytes,
        };
      }
      const records = await trx
        .selectFrom('site_outbox')
        .select(['record_id', 'record_type', 'body'])
        .where('link_code', '=', link.code)
        .where('batch_sequence', '=', pending.sequence)
        .orderBy('id')
        .execute();
      const envelope = signBatch(link, pending.sequence, records, now);
      await trx
        .updateTable('site_outbox_batches')
        .set({ envelope, created_at: now })
        .where('link_code', '=', link.code)
        .where('sequence', '=', pending.sequence)
        .execute();
      return { ...toBatch(pending), envelope };
    }
    const candidates = await trx
      .selectFrom('site_outbox')
      .select(['id', 'record_id', 'record_type', 'body', 'bytes'])
      .where('link_code', '=', link.code)
      .where('batch_sequence', 'is', null)
      .orderBy('id')
      .limit(maxBatchRecords)
      .execute();
    if (candidates.length === 0) return undefined;
    const chosen: typeof candidates = [];
    let bytes = 0;
    for (const candidate of candidates) {
      if (chosen.length > 0 && bytes + candidate.bytes > maxBatchBytes) break;
      chosen.push(candidate);
      bytes += candidate.bytes;
    }
    const row = await trx
      .updateTable('site_links')
      .set((eb) => ({ outbound_sequence: eb('outbound_sequence', '+', 1) }))
      .where('site_code', '=', link.code)
      .returning('outbound_sequence')
      .executeTakeFirstOrThrow();
    const sequence = row.outbound_sequence;
    const envelope = signBatch(link, sequence, chosen, now);
    await trx
      .updateTable('site_outbox')
      .set({ batch_sequence: sequence })
      .where(
        'id',
        'in',
        chosen.map((c) => c.id),
      )
      .execute();
    await trx
      .insertInto('site_outbox_batches')
      .values({
        link_code: link.code,
        sequence,
        envelope,
        record_count: chosen.length,
        bytes,
        created_at: now,
      })
      .execute();
    return { linkCode: link.code, sequence, envelope, recordCount: chosen.length, bytes };
  });
}

function toBatch(row: {
  link_code: string;
  sequence: number;
  envelope: string;
  record_count: number;
  bytes: number;
}): OutboundBatch {
  return {
    linkCode: row.link_code,
    sequence: row.sequence,
    envelope: row.envelope,
    recordCount: row.record_count,
    bytes: row.bytes,
  };
}

function signBatch(
  link: { code: string; localCode: string; siteKey: SigningKey },
  sequence: number,
  records: readonly { record_id: string; record_type: string; body: unknown }[],
  now: Date,
): string {
  return signDocument(
    {
      kind: 'site-message',
      sequence,
      fromSite: link.localCode,
      toSite: link.code,
      records: records.map((r) => ({
        recordId: r.record_id,
        type: r.record_type,
        body: r.body as Record<string, unknown>,
      })),
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + batchValidityMs).toISOString(),
    },
    [link.siteKey],
  ).encoded;
}

/** The other site committed batch `sequence`: it and its records leave the outbox. */
export async function acknowledgeBatch(
  db: SiteDb,
  linkCode: string,
  sequence: number,
  now: Date,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx
      .deleteFrom('site_outbox')
      .where('link_code', '=', linkCode)
      .where('batch_sequence', '=', sequence)
      .execute();
    await trx
      .deleteFrom('site_outbox_batches')
      .where('link_code', '=', linkCode)
      .where('sequence', '=', sequence)
      .execute();
    await trx
      .updateTable('site_links')
      .set({ acknowledged_sequence: sequence, last_sent_at: now, last_error: null, failures: 0 })
      .where('site_code', '=', linkCode)
      .execute();
  });
}
