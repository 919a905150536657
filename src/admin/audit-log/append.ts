import { sql } from 'kysely';
import { inTransaction, type SiteDb } from '../identity/database-access.js';
import {
  auditEntryHash,
  checkAuditRecordFields,
  genesisHash,
  normaliseDetails,
  type AuditEntry,
  type AuditRecord,
} from './audit-entry.js';

/** The advisory lock that serialises appends across every connection ("Stew" in ASCII). */
export const auditLockKey = 0x53746577;

/**
 * Appends one entry to the hash-chained audit log (DESIGN.md section 7). Appends are serialised by a
 * transaction-scoped advisory lock, so concurrent appends from any number of connections form one
 * chain. Pass the caller's transaction to record a change and its entry atomically; the lock is
 * then held until that transaction ends. The caller's transaction must be READ COMMITTED (the
 * default) so that the head read after taking the lock is the committed one; under a stale snapshot
 * the insert fails on the duplicate seq instead of forking the chain.
 */
export async function appendAudit(db: SiteDb, record: AuditRecord, now = new Date()): Promise<AuditEntry> {
  checkAuditRecordFields(record);
  const { details, text } = normaliseDetails(record.details);
  return inTransaction(db, async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(auditLockKey)})`.execute(trx);
    const head = await trx
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const prevHash = head?.hash ?? genesisHash;
    const fields = {
      seq: (head?.seq ?? 0) + 1,
      at: now,
      actor: record.actor,
      action: record.action,
      objectClass: record.objectClass,
      objectId: record.objectId,
      details,
    };
    const hash = auditEntryHash(prevHash, fields);
    await trx
      .insertInto('audit_log')
      .values({
        seq: fields.seq,
        at: fields.at,
        actor: fields.actor,
        action: fields.action,
        object_class: fields.objectClass,
        object_id: fields.objectId,
        details: text,
        prev_hash: prevHash,
        hash,
      })
      .execute();
    return { ...fields, prevHash, hash };
  });
}
