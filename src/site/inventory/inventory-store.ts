import type { HeartbeatBody, InventoryBody } from '../../protocol/index.js';
import { toJson, type SiteDb } from '../database/site-db.js';

/** Heartbeat discovery: the client's names and addresses, and when it was last seen. */
export async function applyHeartbeat(
  db: SiteDb,
  clientId: string,
  body: HeartbeatBody,
  at: Date,
): Promise<void> {
  await db
    .insertInto('discovery')
    .values({
      client_id: clientId,
      hostname: body.hostname,
      domain: body.domain,
      addresses: toJson(body.addresses),
      agent_version: body.agentVersion,
      updated_at: at,
    })
    .onConflict((oc) =>
      oc.column('client_id').doUpdateSet({
        hostname: body.hostname,
        domain: body.domain,
        addresses: toJson(body.addresses),
        agent_version: body.agentVersion,
        updated_at: at,
      }),
    )
    .execute();
  await db
    .updateTable('clients')
    .set({ last_seen_at: at, hostname: body.hostname })
    .where('id', '=', clientId)
    .execute();
}

/**
 * Applies a full inventory or a delta to the current inventory and keeps the report in history.
 * A delta whose base is not the inventory the site holds is not applied: the answer asks the agent
 * for a full report instead (`needsFull`).
 */
export async function applyInventory(
  db: SiteDb,
  clientId: string,
  body: InventoryBody,
  at: Date,
): Promise<{ needsFull: boolean }> {
  if (!body.full) {
    const current = await db
      .selectFrom('inventory_facts')
      .select('value')
      .where('client_id', '=', clientId)
      .where('name', '=', 'inventory.hash')
      .executeTakeFirst();
    if (current?.value !== body.baseHash) {
      await db.updateTable('clients').set({ inventory_resync: true }).where('id', '=', clientId).execute();
      return { needsFull: true };
    }
  } else {
    await db.updateTable('clients').set({ inventory_resync: false }).where('id', '=', clientId).execute();
    await db.deleteFrom('inventory_facts').where('client_id', '=', clientId).execute();
    await db.deleteFrom('inventory_software').where('client_id', '=', clientId).execute();
  }
  const removedFacts = body.facts.removed;
  if (removedFacts.length > 0) {
    await db
      .deleteFrom('inventory_facts')
      .where('client_id', '=', clientId)
      .where('name', 'in', removedFacts)
      .execute();
  }
  const facts = Object.entries({ ...body.facts.set, 'inventory.hash': body.hash }).map(([name, value]) => ({
    client_id: clientId,
    name,
    value: typeof value === 'number' ? String(value) : value,
    num: typeof value === 'number' ? value : numericOrNull(value),
  }));
  for (const chunk of chunks(facts, 500)) {
    await db
      .insertInto('inventory_facts')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['client_id', 'name']).doUpdateSet((eb) => ({
          value: eb.ref('excluded.value'),
          num: eb.ref('excluded.num'),
        })),
      )
      .execute();
  }
  for (const removed of chunks(body.software.removed, 200)) {
    await db
      .deleteFrom('inventory_software')
      .where('client_id', '=', clientId)
      .where((eb) =>
        eb.or(removed.map((item) => eb.and([eb('name', '=', item.name), eb('arch', '=', item.arch)]))),
      )
      .execute();
  }
  const software = uniqueSoftware(body.software.set).map((item) => ({ client_id: clientId, ...item }));
  for (const chunk of chunks(software, 500)) {
    await db
      .insertInto('inventory_software')
      .values(chunk)
      .onConflict((oc) =>
        oc.columns(['client_id', 'name', 'arch']).doUpdateSet((eb) => ({
          version: eb.ref('excluded.version'),
          source: eb.ref('excluded.source'),
        })),
      )
      .execute();
  }
  await db
    .insertInto('inventory_history')
    .values({ client_id: clientId, received_at: at, full: body.full, delta: toJson(body) })
    .execute();
  return { needsFull: false };
}

function numericOrNull(text: string): number | null {
  if (!/^-?\d+(\.\d+)?$/.test(text)) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function uniqueSoftware<T extends { name: string; arch: string }>(items: readonly T[]): T[] {
  const byKey = new Map<string, T>();
  for (const item of items) byKey.set(`${item.name}\u0000${item.arch}`, item);
  return [...byKey.values()];
}

export function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
