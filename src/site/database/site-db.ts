import type { Kysely, Transaction } from 'kysely';
import type { SiteDatabase } from './schema.js';

/** A handle on the site database or a transaction in it: stores accept either. */
export type SiteDb = Kysely<SiteDatabase> | Transaction<SiteDatabase>;

/**
 * Runs `work` in a transaction, or inside the caller's transaction when it already is one. Inside
 * `work`, use only `trx`: the embedded database has a single connection, so a query on the outer
 * handle waits for the transaction that waits for it.
 */
export async function inTransaction<T>(
  db: SiteDb,
  work: (trx: Transaction<SiteDatabase>) => Promise<T>,
): Promise<T> {
  if (db.isTransaction) return work(db as Transaction<SiteDatabase>);
  return db.transaction().execute(work);
}

/** Names for JSON values written to jsonb columns (both drivers read them back parsed). */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}
