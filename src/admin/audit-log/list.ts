import { InvalidRequestError } from '../../site/site-errors.js';
import type { SiteDb } from '../identity/database-access.js';
import type { AuditEntry } from './audit-entry.js';
import { maxAuditPage, readAuditPage } from './read-entries.js';

/** A page of the audit log in seq order, starting after `afterSeq` (default: the beginning). */
export async function listAudit(
  db: SiteDb,
  options: { readonly afterSeq?: number; readonly limit: number },
): Promise<AuditEntry[]> {
  const afterSeq = options.afterSeq ?? 0;
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new InvalidRequestError('afterSeq must be a non-negative integer.');
  }
  if (!Number.isSafeInteger(options.limit) || options.limit < 1 || options.limit > maxAuditPage) {
    throw new InvalidRequestError(`limit must be an integer from 1 to ${maxAuditPage}.`);
  }
  return readAuditPage(db, afterSeq, options.limit);
}
