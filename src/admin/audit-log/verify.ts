import type { SiteDb } from '../identity/database-access.js';
import { AuditChainBrokenError } from './audit-errors.js';
import { auditEntryHash, genesisHash, type AuditEntry } from './audit-entry.js';
import { maxAuditPage, readAuditPage } from './read-entries.js';

export type AuditChainVerdict =
  | { readonly ok: true; readonly entries: number; readonly head: string }
  /** `brokenAt` is the first seq that does not verify (for a missing entry, the missing seq);
   * `entries` counts the entries before it that did. */
  | { readonly ok: false; readonly entries: number; readonly brokenAt: number; readonly reason: string };

/**
 * Recomputes the whole chain, reading 1000 entries at a time. It detects a changed entry, a deleted
 * or inserted entry, and a reordering. It cannot detect a truncated tail: the remaining entries
 * still form a valid chain. Operators record the `head` hash (and entry count) elsewhere and compare.
 */
export async function verifyAuditChain(db: SiteDb): Promise<AuditChainVerdict> {
  let previous = { seq: 0, hash: genesisHash };
  for (;;) {
    const page = await readAuditPage(db, previous.seq, maxAuditPage);
    for (const entry of page) {
      const reason = linkProblem(previous, entry);
      if (reason !== undefined) {
        return { ok: false, entries: previous.seq, brokenAt: previous.seq + 1, reason };
      }
      previous = { seq: entry.seq, hash: entry.hash };
    }
    if (page.length < maxAuditPage) return { ok: true, entries: previous.seq, head: previous.hash };
  }
}

function linkProblem(previous: { seq: number; hash: string }, entry: AuditEntry): string | undefined {
  const expectedSeq = previous.seq + 1;
  if (entry.seq !== expectedSeq) {
    return `entry ${expectedSeq} is missing: the log goes from seq ${previous.seq} to ${entry.seq}`;
  }
  if (entry.prevHash !== previous.hash) {
    return `entry ${entry.seq} does not link to entry ${previous.seq}: its prev_hash differs`;
  }
  if (auditEntryHash(entry.prevHash, entry) !== entry.hash) {
    return `entry ${entry.seq} was changed: its contents do not match its hash`;
  }
  return undefined;
}

/** Throws AuditChainBrokenError unless the chain verifies; returns the head otherwise. */
export async function assertAuditChain(db: SiteDb): Promise<{ entries: number; head: string }> {
  const verdict = await verifyAuditChain(db);
  if (!verdict.ok) {
    throw new AuditChainBrokenError(
      `The audit log is broken at seq ${verdict.brokenAt}: ${verdict.reason}`,
      verdict.brokenAt,
    );
  }
  return { entries: verdict.entries, head: verdict.head };
}
