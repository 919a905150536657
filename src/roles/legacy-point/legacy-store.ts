import { sql } from 'kysely';
import { randomToken, sha256Hex } from '../../trust/index.js';
import { inTransaction, toJson, type SiteDb } from '../../site/database/site-db.js';
import { ConflictError } from '../../site/site-errors.js';
import {
  consumeCountedToken,
  createCountedToken,
  type CountedToken,
} from '../../site/clients/counted-tokens.js';
import { ClientRevokedError } from '../management-point/mp-errors.js';
import { LegacyTokenInvalidError, LegacyUnauthenticatedError } from './legacy-errors.js';

export type LegacyVerification = 'signature' | 'none';

/** The agent version a legacy client's discovery row carries. */
export const legacyClientVersion = 'steward-legacy-client/1';

const tokenPrefix = 'lgc_';

/**
 * Creates a legacy client token: a client that registers with it is a legacy client, approved at
 * once. Only its SHA-256 is stored; the token is shown once.
 */
export function createLegacyToken(
  db: SiteDb,
  options: { description: string; uses: number; expiresAt: Date; now: Date },
): Promise<CountedToken> {
  return createCountedToken(db, 'legacy_client_tokens', tokenPrefix, options);
}

function consumeLegacyToken(db: SiteDb, token: string, now: Date): Promise<boolean> {
  return consumeCountedToken(db, 'legacy_client_tokens', tokenPrefix, token, now);
}

/**
 * How a legacy client shows in the agent-shaped columns of `clients` (which also flow up the
 * hierarchy): one that checks the site's signature pins the site key (`secure`, `pinned`); one that
 * cannot check anything trusts what it receives, so it counts with trust-on-first-use clients.
 * `kind = 'legacy'` and `legacy_clients.verification` are the exact record.
 */
function agentColumns(verification: LegacyVerification) {
  return verification === 'signature'
    ? ({ mode: 'secure', root_source: 'pinned' } as const)
    : ({ mode: 'trust-on-first-use', root_source: 'first-use' } as const);
}

export interface LegacyRegistration {
  siteCode: string;
  token: string;
  hostname: string;
  /** 64 lowercase hex digits the client drew from its random source; only the hash is kept. */
  secret: string;
  verification: LegacyVerification;
  now: Date;
}

/** Registers a legacy client with a legacy client token; it is approved at once. */
export async function registerLegacyClient(
  db: SiteDb,
  registration: LegacyRegistration,
): Promise<{ clientId: string; state: 'approved' }> {
  const { now } = registration;
  return inTransaction(db, async (trx) => {
    if (!(await consumeLegacyToken(trx, registration.token, now))) {
      throw new LegacyTokenInvalidError('the legacy client token is unknown, used up or expired');
    }
    const secretHash = sha256Hex(registration.secret);
    const taken = await trx
      .selectFrom('legacy_clients')
      .select('client_id')
      .where('secret_hash', '=', secretHash)
      .executeTakeFirst();
    if (taken !== undefined) throw new ConflictError('this client secret is already registered');
    // A random id in the shape of a key id (64 hex digits). No Ed25519 key has it, so no agent
    // report or certificate request can ever be verified for a legacy client.
    const clientId = sha256Hex(`steward-legacy-client-id\n${randomToken(32)}`);
    await trx
      .insertInto('clients')
      .values({
        id: clientId,
        public_key: '',
        site_code: registration.siteCode,
        hostname: registration.hostname,
        state: 'approved',
        ...agentColumns(registration.verification),
        approved_by: 'legacy client token',
        registered_at: now,
        approved_at: now,
        revoked_at: null,
        last_seen_at: now,
        kind: 'legacy',
      })
      .execute();
    await trx
      .insertInto('discovery')
      .values({
        client_id: clientId,
        hostname: registration.hostname,
        domain: null,
        addresses: toJson([]),
        agent_version: legacyClientVersion,
        updated_at: now,
      })
      .execute();
    await trx
      .insertInto('legacy_clients')
      .values({
        client_id: clientId,
        secret_hash: secretHash,
        verification: registration.verification,
        created_at: now,
      })
      .execute();
    return { clientId, state: 'approved' as const };
  });
}

export interface LegacyClientIdentity {
  clientId: string;
  hostname: string;
  siteCode: string;
  verification: LegacyVerification;
}

/** The legacy client whose secret this is: ERR_LEGACY_UNAUTHENTICATED, or ERR_CLIENT_REVOKED. */
export async function authenticateLegacyClient(db: SiteDb, secret: string): Promise<LegacyClientIdentity> {
  const row = await db
    .selectFrom('legacy_clients as l')
    .innerJoin('clients as c', 'c.id', 'l.client_id')
    .select(['c.id', 'c.hostname', 'c.site_code', 'c.state', 'l.verification'])
    .where('l.secret_hash', '=', sha256Hex(secret))
    .where('c.kind', '=', 'legacy')
    .executeTakeFirst();
  if (row === undefined) throw new LegacyUnauthenticatedError('unknown legacy client credential');
  if (row.state === 'revoked') throw new ClientRevokedError(`client ${row.id} is revoked`);
  if (row.state !== 'approved') throw new LegacyUnauthenticatedError(`client ${row.id} is not approved`);
  return {
    clientId: row.id,
    hostname: row.hostname,
    siteCode: row.site_code,
    verification: row.verification,
  };
}

/**
 * Before a list is signed: records that the client was seen and how it verifies now (a client may
 * lose or gain openssl), and takes the next list sequence (C3-style rollback protection).
 */
export async function nextLegacyListSequence(
  db: SiteDb,
  client: LegacyClientIdentity,
  verification: LegacyVerification,
  now: Date,
): Promise<number> {
  return inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('legacy_clients')
      .set({ list_sequence: sql`list_sequence + 1`, last_list_at: now, verification })
      .where('client_id', '=', client.clientId)
      .returning('list_sequence')
      .executeTakeFirstOrThrow();
    await trx
      .updateTable('clients')
      .set({ last_seen_at: now, ...agentColumns(verification) })
      .where('id', '=', client.clientId)
      .execute();
    return row.list_sequence;
  });
}

/** Legacy clients by state and by verification, for the audit (docs/legacy-client.md). */
export async function countLegacyClients(db: SiteDb): Promise<{
  total: number;
  approved: number;
  revoked: number;
  verifying: number;
  unverified: number;
}> {
  const rows = await db
    .selectFrom('clients as c')
    .innerJoin('legacy_clients as l', 'l.client_id', 'c.id')
    .select(['c.state', 'l.verification', (eb) => eb.fn.countAll<number>().as('n')])
    .where('c.kind', '=', 'legacy')
    .groupBy(['c.state', 'l.verification'])
    .execute();
  const counts = { total: 0, approved: 0, revoked: 0, verifying: 0, unverified: 0 };
  for (const row of rows) {
    const n = row.n;
    counts.total += n;
    if (row.state === 'approved') counts.approved += n;
    if (row.state === 'revoked') counts.revoked += n;
    if (row.state === 'revoked') continue;
    if (row.verification === 'signature') counts.verifying += n;
    else counts.unverified += n;
  }
  return counts;
}
