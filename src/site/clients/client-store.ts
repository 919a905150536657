import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { ClientTable } from '../database/schema.js';
import type { SiteDb } from '../database/site-db.js';

export type ClientState = ClientTable['state'];

export interface ClientRecord {
  id: string;
  publicKey: string;
  siteCode: string;
  hostname: string;
  state: ClientState;
  mode: ClientTable['mode'];
  rootSource: ClientTable['root_source'];
  registeredAt: Date;
  approvedAt: Date | null;
  revokedAt: Date | null;
  lastSeenAt: Date | null;
}

const columns = [
  'id',
  'public_key',
  'site_code',
  'hostname',
  'state',
  'mode',
  'root_source',
  'registered_at',
  'approved_at',
  'revoked_at',
  'last_seen_at',
] as const;

type Row = Pick<Selectable<ClientTable>, (typeof columns)[number]>;

function toRecord(row: Row): ClientRecord {
  const date = (value: Date | string | null): Date | null => (value === null ? null : new Date(value));
  return {
    id: row.id,
    publicKey: row.public_key,
    siteCode: row.site_code,
    hostname: row.hostname,
    state: row.state,
    mode: row.mode,
    rootSource: row.root_source,
    registeredAt: new Date(row.registered_at),
    approvedAt: date(row.approved_at),
    revokedAt: date(row.revoked_at),
    lastSeenAt: date(row.last_seen_at),
  };
}

/**
 * Records a registration (S1 has been checked by the caller). A client that registers again with
 * the same key keeps its state: re-registering never undoes a revocation.
 */
export async function registerClient(
  db: SiteDb,
  client: Omit<ClientRecord, 'approvedAt' | 'revokedAt' | 'lastSeenAt' | 'state'> & {
    state: 'pending' | 'approved';
    approvedBy: string | null;
  },
): Promise<ClientRecord> {
  await db
    .insertInto('clients')
    .values({
      id: client.id,
      public_key: client.publicKey,
      site_code: client.siteCode,
      hostname: client.hostname,
      state: client.state,
      mode: client.mode,
      root_source: client.rootSource,
      approved_by: client.approvedBy,
      registered_at: client.registeredAt,
      approved_at: client.state === 'approved' ? client.registeredAt : null,
      revoked_at: null,
      last_seen_at: client.registeredAt,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        hostname: client.hostname,
        mode: client.mode,
        root_source: client.rootSource,
        last_seen_at: client.registeredAt,
        // A pending client that now presents a valid enrolment token becomes approved.
        state: sql`case when clients.state = 'pending' and ${client.state} = 'approved' then 'approved' else clients.state end`,
        approved_at: sql`case when clients.state = 'pending' and ${client.state} = 'approved' then ${client.registeredAt} else clients.approved_at end`,
      }),
    )
    .execute();
  const stored = await getClient(db, client.id);
  if (stored === undefined) throw new Error(`client ${client.id} vanished after registration`);
  return stored;
}

export async function getClient(db: SiteDb, id: string): Promise<ClientRecord | undefined> {
  const row = await db.selectFrom('clients').select(columns).where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toRecord(row);
}

/** Moves a client to approved or revoked. Revocation is final: a revoked client is never approved again. */
export async function setClientState(
  db: SiteDb,
  id: string,
  state: 'approved' | 'revoked',
  by: string,
  now: Date,
): Promise<ClientRecord | undefined> {
  const query = db.updateTable('clients').where('id', '=', id);
  if (state === 'approved') {
    await query.set({ state, approved_at: now, approved_by: by }).where('state', '=', 'pending').execute();
  } else {
    await query.set({ state, revoked_at: now }).execute();
  }
  return getClient(db, id);
}

export interface ClientListQuery {
  search?: string | undefined;
  state?: ClientState | undefined;
  limit: number;
  after?: string | undefined;
}

/** A page of clients ordered by id (keyset paging: stays fast with 100,000 clients). */
export async function listClients(db: SiteDb, query: ClientListQuery): Promise<ClientRecord[]> {
  let q = db.selectFrom('clients').select(columns).orderBy('id').limit(query.limit);
  if (query.state !== undefined) q = q.where('state', '=', query.state);
  if (query.after !== undefined) q = q.where('id', '>', query.after);
  if (query.search !== undefined && query.search !== '') {
    const pattern = `%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    q = q.where((eb) => eb.or([eb('hostname', 'ilike', pattern), eb('id', 'like', pattern)]));
  }
  return (await q.execute()).map(toRecord);
}

export async function countClientsByState(db: SiteDb): Promise<Record<ClientState, number>> {
  const rows = await db
    .selectFrom('clients')
    .select(['state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('state')
    .execute();
  const counts: Record<ClientState, number> = { pending: 0, approved: 0, revoked: 0 };
  for (const row of rows) counts[row.state] = row.n;
  return counts;
}
