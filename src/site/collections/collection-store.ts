import { sql } from 'kysely';
import { randomId } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { inTransaction } from '../database/site-db.js';
import { ConflictError, NotFoundError } from '../site-errors.js';
import { chunks } from '../inventory/inventory-store.js';
import { compileRule, parseRule } from './rule-language/index.js';

export interface CollectionRecord {
  id: string;
  name: string;
  description: string;
  rule: string | null;
  memberCount: number;
  createdAt: Date;
  updatedAt: Date;
  evaluatedAt: Date | null;
}

const columns = [
  'id',
  'name',
  'description',
  'rule',
  'member_count',
  'created_at',
  'updated_at',
  'evaluated_at',
] as const;

function toRecord(row: {
  id: string;
  name: string;
  description: string;
  rule: string | null;
  member_count: number;
  created_at: Date;
  updated_at: Date;
  evaluated_at: Date | null;
}): CollectionRecord {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    rule: row.rule,
    memberCount: row.member_count,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    evaluatedAt: row.evaluated_at === null ? null : new Date(row.evaluated_at),
  };
}

/** Creates a collection. A rule is parsed first, so a bad rule stores nothing. */
export async function createCollection(
  db: SiteDb,
  input: { name: string; description: string; rule: string | null; clientIds: readonly string[] },
  now: Date,
): Promise<CollectionRecord> {
  if (input.rule !== null) parseRule(input.rule);
  const id = `col-${randomId().slice(0, 12)}`;
  return inTransaction(db, async (trx) => {
    const existing = await trx
      .selectFrom('collections')
      .select('id')
      .where('name', '=', input.name)
      .executeTakeFirst();
    if (existing !== undefined) throw new ConflictError(`a collection named "${input.name}" exists already`);
    await trx
      .insertInto('collections')
      .values({
        id,
        name: input.name,
        description: input.description,
        rule: input.rule,
        member_count: 0,
        created_at: now,
        updated_at: now,
        evaluated_at: null,
      })
      .execute();
    if (input.clientIds.length > 0) await addDirectMembers(trx, id, input.clientIds);
    return requireCollection(trx, id);
  });
}

export async function getCollection(db: SiteDb, id: string): Promise<CollectionRecord | undefined> {
  const row = await db.selectFrom('collections').select(columns).where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toRecord(row);
}

export async function requireCollection(db: SiteDb, id: string): Promise<CollectionRecord> {
  const found = await getCollection(db, id);
  if (found === undefined) throw new NotFoundError(`collection ${id} does not exist`);
  return found;
}

export async function listCollections(db: SiteDb): Promise<CollectionRecord[]> {
  return (await db.selectFrom('collections').select(columns).orderBy('name').execute()).map(toRecord);
}

/** Adds clients by direct membership; unknown client ids are refused. Returns the ids added. */
export async function addDirectMembers(
  db: SiteDb,
  collectionId: string,
  clientIds: readonly string[],
): Promise<string[]> {
  const unique = [...new Set(clientIds)];
  const known = new Set<string>();
  for (const chunk of chunks(unique, 1000)) {
    for (const row of await db.selectFrom('clients').select('id').where('id', 'in', chunk).execute())
      known.add(row.id);
  }
  const missing = unique.filter((id) => !known.has(id));
  if (missing.length > 0) throw new NotFoundError(`unknown client ${missing[0] ?? ''}`);
  const added: string[] = [];
  for (const chunk of chunks(unique, 1000)) {
    const rows = await db
      .insertInto('collection_members')
      .values(chunk.map((clientId) => ({ collection_id: collectionId, client_id: clientId, direct: true })))
      .onConflict((oc) => oc.columns(['collection_id', 'client_id']).doUpdateSet({ direct: true }))
      .returning('client_id')
      .execute();
    added.push(...rows.map((r) => r.client_id));
  }
  await refreshMemberCount(db, collectionId);
  return added;
}

/**
 * Re-evaluates a rule-based collection, for every client or only for `onlyClients` (after their
 * inventory changed). Returns the clients whose membership changed, so their policy can follow.
 */
export async function evaluateCollection(
  db: SiteDb,
  collectionId: string,
  now: Date,
  onlyClients?: readonly string[],
): Promise<Set<string>> {
  const collection = await requireCollection(db, collectionId);
  const changed = new Set<string>();
  if (collection.rule === null) return changed;
  const predicate = compileRule(parseRule(collection.rule), { now });
  await inTransaction(db, async (trx) => {
    let matchingQuery = trx.selectFrom('clients').select('clients.id').where(predicate);
    let currentQuery = trx
      .selectFrom('collection_members')
      .select('client_id')
      .where('collection_id', '=', collectionId)
      .where('direct', '=', false);
    if (onlyClients !== undefined) {
      if (onlyClients.length === 0) return;
      matchingQuery = matchingQuery.where('clients.id', 'in', onlyClients);
      currentQuery = currentQuery.where('client_id', 'in', onlyClients);
    }
    const matching = new Set((await matchingQuery.execute()).map((r) => r.id));
    const current = new Set((await currentQuery.execute()).map((r) => r.client_id));
    const toAdd = [...matching].filter((id) => !current.has(id));
    const toRemove = [...current].filter((id) => !matching.has(id));
    for (const chunk of chunks(toAdd, 1000)) {
      const rows = await trx
        .insertInto('collection_members')
        .values(
          chunk.map((clientId) => ({ collection_id: collectionId, client_id: clientId, direct: false })),
        )
        .onConflict((oc) => oc.columns(['collection_id', 'client_id']).doNothing())
        .returning('client_id')
        .execute();
      for (const row of rows) changed.add(row.client_id);
    }
    for (const chunk of chunks(toRemove, 1000)) {
      await trx
        .deleteFrom('collection_members')
        .where('collection_id', '=', collectionId)
        .where('direct', '=', false)
        .where('client_id', 'in', chunk)
        .execute();
      for (const id of chunk) changed.add(id);
    }
    if (onlyClients === undefined) {
      await trx
        .updateTable('collections')
        .set({ evaluated_at: now })
        .where('id', '=', collectionId)
        .execute();
    }
    if (changed.size > 0) await refreshMemberCount(trx, collectionId);
  });
  return changed;
}

async function refreshMemberCount(db: SiteDb, collectionId: string): Promise<void> {
  await db
    .updateTable('collections')
    .set({
      member_count: sql<number>`(select count(*) from collection_members m where m.collection_id = ${collectionId})`,
    })
    .where('id', '=', collectionId)
    .execute();
}

export async function collectionMembers(
  db: SiteDb,
  collectionId: string,
  page: { limit: number; after?: string | undefined },
): Promise<{ clientId: string; hostname: string; state: string; direct: boolean }[]> {
  let q = db
    .selectFrom('collection_members as m')
    .innerJoin('clients as c', 'c.id', 'm.client_id')
    .select(['m.client_id as clientId', 'c.hostname', 'c.state', 'm.direct'])
    .where('m.collection_id', '=', collectionId)
    .orderBy('m.client_id')
    .limit(page.limit);
  if (page.after !== undefined) q = q.where('m.client_id', '>', page.after);
  return q.execute();
}

/** Collections that have a rule (evaluated on a schedule and when inventory changes). */
export async function ruleCollectionIds(db: SiteDb): Promise<string[]> {
  return (await db.selectFrom('collections').select('id').where('rule', 'is not', null).execute()).map(
    (r) => r.id,
  );
}

/** The collections a client belongs to. */
export async function collectionsOfClient(db: SiteDb, clientId: string): Promise<string[]> {
  return (
    await db
      .selectFrom('collection_members')
      .select('collection_id')
      .where('client_id', '=', clientId)
      .execute()
  ).map((r) => r.collection_id);
}
