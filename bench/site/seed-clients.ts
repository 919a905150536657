import { openSiteDatabase, type DatabaseLocation } from '../../src/site/database/open.js';
import { keyIdOf } from '../../src/trust/index.js';
import type { AgentIdentity } from '../agent-sim/identity.js';
import { sourceAddressFor } from '../agent-sim/identity.js';
import { SeededRandom } from '../harness/rng.js';

/** What the site database holds about a registered client. */
export interface ClientRow {
  readonly clientId: string;
  /** The raw Ed25519 public key, base64. */
  readonly publicKey: string;
  readonly hostname: string;
  readonly sourceAddress: string;
}

export interface SeededClient {
  readonly client: ClientRow;
  /** Inventory facts stored for the client (collection rules read them). */
  readonly facts: Record<string, string | number>;
}

export function clientRowOf(identity: AgentIdentity): ClientRow {
  return {
    clientId: identity.clientId,
    publicKey: identity.key.publicRecord().publicKey,
    hostname: identity.hostname,
    sourceAddress: identity.sourceAddress,
  };
}

/**
 * A client that only exists in the database and never sends anything: its public key is 32 seeded
 * bytes and its id their key id, without deriving a signing key (node:crypto takes about a
 * millisecond per Ed25519 key import here, minutes for 100,000 keys). Agents that do poll or report
 * use agentIdentity(), whose clientId is that of a real key.
 */
export function silentClientRow(seed: number, index: number): ClientRow {
  const raw = SeededRandom.derive(seed, `silent-client-${index}`).bytes(32);
  return {
    clientId: keyIdOf(raw),
    publicKey: Buffer.from(raw).toString('base64'),
    hostname: `silent-${String(index).padStart(7, '0')}`,
    sourceAddress: sourceAddressFor(index),
  };
}

/**
 * Inserts registered, approved clients straight into a stopped site's database, in batches, with
 * their discovery record and inventory facts: what registration and the first inventory report
 * would have written, without 100,000 registrations through the MP's rate limit. Every client has
 * a real key, so any of them can later sign reports the site verifies.
 */
export async function seedClients(
  location: DatabaseLocation,
  siteCode: string,
  clients: readonly SeededClient[],
  onProgress?: (done: number) => void,
): Promise<void> {
  const database = await openSiteDatabase(location, { migrate: false });
  const now = new Date();
  try {
    for (let at = 0; at < clients.length; at += 1000) {
      const batch = clients.slice(at, at + 1000);
      await database.db.transaction().execute(async (trx) => {
        await trx
          .insertInto('clients')
          .values(
            batch.map(({ client }) => ({
              id: client.clientId,
              public_key: client.publicKey,
              site_code: siteCode,
              hostname: client.hostname,
              state: 'approved' as const,
              mode: 'secure' as const,
              root_source: 'pinned' as const,
              approved_by: 'bench seed',
              registered_at: now,
              approved_at: now,
              revoked_at: null,
              last_seen_at: now,
            })),
          )
          .execute();
        await trx
          .insertInto('discovery')
          .values(
            batch.map(({ client }) => ({
              client_id: client.clientId,
              hostname: client.hostname,
              domain: null,
              addresses: JSON.stringify([client.sourceAddress]),
              agent_version: 'bench-simulator',
              updated_at: now,
            })),
          )
          .execute();
        const facts = batch.flatMap(({ client, facts: set }) =>
          Object.entries(set).map(([name, value]) => ({
            client_id: client.clientId,
            name,
            value: String(value),
            num: typeof value === 'number' ? value : null,
          })),
        );
        if (facts.length > 0) await trx.insertInto('inventory_facts').values(facts).execute();
      });
      onProgress?.(Math.min(at + 1000, clients.length));
    }
  } finally {
    await database.close();
  }
}
