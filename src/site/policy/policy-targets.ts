import type { SiteDb } from '../database/site-db.js';
import { chunks } from '../inventory/inventory-store.js';

export interface PolicyTarget {
  policyId: string;
  version: number;
  hash: string;
}

/**
 * The policy bodies in force for clients: active, unexpired deployments to the collections they
 * belong to. S1: only approved clients get deployment policy. One query per thousand clients, so a
 * deployment to ten thousand machines costs ten queries, not ten thousand.
 */
export async function policyTargetsOfMany(
  db: SiteDb,
  clientIds: readonly string[],
  now: Date,
): Promise<Map<string, PolicyTarget[]>> {
  const targets = new Map<string, Map<string, PolicyTarget>>();
  for (const id of clientIds) targets.set(id, new Map());
  for (const chunk of chunks(clientIds, 1000)) {
    const rows = await db
      .selectFrom('collection_members as m')
      .innerJoin('clients as c', (join) =>
        join.onRef('c.id', '=', 'm.client_id').on('c.state', '=', 'approved'),
      )
      .innerJoin('deployments as d', (join) =>
        join.onRef('d.collection_id', '=', 'm.collection_id').on('d.state', '=', 'active'),
      )
      .innerJoin('policy_bodies as b', (join) =>
        join.onRef('b.policy_id', '=', 'd.policy_id').onRef('b.version', '=', 'd.policy_version'),
      )
      .select(['m.client_id', 'd.policy_id', 'd.policy_version', 'b.hash'])
      .where('m.client_id', 'in', chunk)
      .where((eb) => eb.or([eb('d.expires_at', 'is', null), eb('d.expires_at', '>', now)]))
      .execute();
    for (const row of rows) {
      targets
        .get(row.client_id)
        ?.set(row.policy_id, { policyId: row.policy_id, version: row.policy_version, hash: row.hash });
    }
  }
  const result = new Map<string, PolicyTarget[]>();
  for (const [id, byPolicy] of targets) {
    result.set(
      id,
      [...byPolicy.values()].sort((a, b) => (a.policyId < b.policyId ? -1 : a.policyId > b.policyId ? 1 : 0)),
    );
  }
  return result;
}

export async function policyTargetsOf(db: SiteDb, clientId: string, now: Date): Promise<PolicyTarget[]> {
  return (await policyTargetsOfMany(db, [clientId], now)).get(clientId) ?? [];
}

export async function policyBodyEnvelope(
  db: SiteDb,
  policyId: string,
  version: number,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('policy_bodies')
    .select('envelope')
    .where('policy_id', '=', policyId)
    .where('version', '=', version)
    .executeTakeFirst();
  return row?.envelope;
}
