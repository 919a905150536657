import { sql } from 'kysely';
import type { SiteDb } from '../database/site-db.js';
import { inTransaction, toJson } from '../database/site-db.js';

/**
 * The policy change feed (docs/scale-out.md, ADR 0005): every time the site decides that clients'
 * signed assignment lists must be rebuilt (membership, approval, deployments, registrations), one
 * row names them (or every client). Management points on other hosts poll it, from the replica
 * they read, and drop those clients from their cache; no connection to the site server is needed.
 *
 * Rows are appended under a transaction-scoped advisory lock, so their sequence numbers are
 * committed in order and a reader that remembers the last number it saw never skips one. A reader
 * on a streaming replica sees a row only after everything committed before it, so the data it then
 * reads for those clients is at least as new as the change.
 */
const feedLock = 728_461_903;
/** Client ids per row; more are split over rows. A change for more than this many is `all`. */
const maxIdsPerRow = 5000;
const maxPendingIds = 100_000;

export class PolicyChangeWriter {
  #pendingAll = false;
  readonly #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly db: SiteDb,
    private readonly options: { delayMs?: number; onError(error: unknown): void },
  ) {}

  /** Records a change (batched for a few milliseconds; kept in memory and retried while the database is away). */
  record(clientIds: Iterable<string> | 'all'): void {
    if (this.#stopped) return;
    if (clientIds === 'all') this.#pendingAll = true;
    else for (const id of clientIds) this.#pending.add(id);
    if (this.#pending.size > maxPendingIds) {
      this.#pending.clear();
      this.#pendingAll = true;
    }
    this.#schedule(this.options.delayMs ?? 20);
  }

  /** Writes what is pending now (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
    if (!this.#pendingAll && this.#pending.size === 0) return;
    const all = this.#pendingAll;
    const ids = [...this.#pending];
    this.#pendingAll = false;
    this.#pending.clear();
    this.#flushing = appendPolicyChange(this.db, all ? 'all' : ids)
      .catch((error: unknown) => {
        // Kept for the next attempt: the change is not lost while the database is away.
        if (all) this.#pendingAll = true;
        for (const id of ids) this.#pending.add(id);
        this.options.onError(error);
        this.#schedule(1000);
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    await this.#flushing;
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush().catch(() => undefined);
    this.#stopped = true;
  }

  #schedule(delayMs: number): void {
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, delayMs);
    this.#timer.unref();
  }
}

/** Appends one change (split into rows of at most 5,000 ids) in one transaction, in order. */
export async function appendPolicyChange(db: SiteDb, clientIds: readonly string[] | 'all'): Promise<void> {
  if (clientIds !== 'all' && clientIds.length === 0) return;
  await inTransaction(db, async (trx) => {
    await sql`select pg_advisory_xact_lock(${sql.lit(feedLock)})`.execute(trx);
    if (clientIds === 'all') {
      await trx.insertInto('policy_changes').values({ client_ids: null }).execute();
      return;
    }
    for (let start = 0; start < clientIds.length; start += maxIdsPerRow) {
      await trx
        .insertInto('policy_changes')
        .values({ client_ids: toJson(clientIds.slice(start, start + maxIdsPerRow)) })
        .execute();
    }
  });
}

/** What a reader learns from the feed since `afterSeq`. */
export interface PolicyChanges {
  /** The highest sequence read (unchanged when nothing new). */
  lastSeq: number;
  /** Every client must be rebuilt: an `all` row, or rows were pruned before this reader saw them. */
  all: boolean;
  clientIds: Set<string>;
}

/** Reads the changes after `afterSeq` (at most `limit` rows; call again while `lastSeq` moves). */
export async function readPolicyChanges(db: SiteDb, afterSeq: number, limit = 1000): Promise<PolicyChanges> {
  const rows = await db
    .selectFrom('policy_changes')
    .select(['seq', 'client_ids'])
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .limit(limit)
    .execute();
  const result: PolicyChanges = { lastSeq: afterSeq, all: false, clientIds: new Set() };
  if (rows.length === 0) return result;
  if (Number(rows[0]?.seq ?? 0) > afterSeq + 1) {
    // Rows between were pruned (or rolled back): whatever they said is unknown, so everyone.
    const oldest = await db
      .selectFrom('policy_changes')
      .select((eb) => eb.fn.min<number | string>('seq').as('seq'))
      .executeTakeFirst();
    if (Number(oldest?.seq ?? 0) > afterSeq + 1) result.all = true;
  }
  for (const row of rows) {
    result.lastSeq = Math.max(result.lastSeq, Number(row.seq));
    if (row.client_ids === null) result.all = true;
    else for (const id of row.client_ids) result.clientIds.add(id);
  }
  return result;
}

/** The newest sequence of the feed (0 when empty): where a reader that starts with no cache begins. */
export async function latestPolicyChange(db: SiteDb): Promise<number> {
  const row = await db
    .selectFrom('policy_changes')
    .select((eb) => eb.fn.max<number | string>('seq').as('seq'))
    .executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Removes rows older than `before`, always keeping the newest (readers compare against it). */
export async function prunePolicyChanges(db: SiteDb, before: Date): Promise<void> {
  const newest = await latestPolicyChange(db);
  await db.deleteFrom('policy_changes').where('created_at', '<', before).where('seq', '<', newest).execute();
}
