import type { SiteDb } from '../identity/database-access.js';
import type { AuditEntry } from './audit-entry.js';
import type { JsonValue } from './canonical-json.js';

/** Largest page read at once. */
export const maxAuditPage = 1000;

/** Entries with seq greater than `afterSeq`, in seq order, at most `limit` (capped at 1000). */
export async function readAuditPage(db: SiteDb, afterSeq: number, limit: number): Promise<AuditEntry[]> {
  const rows = await db
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(Math.min(limit, maxAuditPage))
    .execute();
  return rows.map((row) => ({
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    objectClass: row.object_class,
    objectId: row.object_id,
    details: row.details as { readonly [key: string]: JsonValue },
    prevHash: row.prev_hash,
    hash: row.hash,
  }));
}
