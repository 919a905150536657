import type { Kysely, Transaction } from 'kysely';
import type { SiteDatabase } from '../../site/database/schema.js';

/** A database or an open transaction: every store function accepts either, so callers can write a
 * change and its audit entry atomically. */
export type SiteDb = Kysely<SiteDatabase> | Transaction<SiteDatabase>;

/** Runs `work` in the caller's transaction when there is one, otherwise in a new transaction. */
export async function inTransaction<T>(
  db: SiteDb,
  work: (trx: Transaction<SiteDatabase>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<SiteDatabase>);
  return db.transaction().execute(work);
}

/** The SQLSTATE of a PostgreSQL error (pg and PGlite both expose it as `code`). */
export function sqlState(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

export const UNIQUE_VIOLATION = '23505';
export const FOREIGN_KEY_VIOLATION = '23503';
