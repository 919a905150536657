import type { SiteDb } from '../database/site-db.js';

export interface PolicyTarget {
  policyId: string;
  version: number;
  hash: string;
}

/**
 * The policy bodies in force for one client: active, unexpired deployments to the collections it
 * belongs to. S1: only approved clients get deployment policy.
 */
export async function policyTargetsOf(db: SiteDb, clientId: string, now: Date): Promise<PolicyTarget[]> {
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
    .select(['d.policy_id', 'd.policy_version', 'b.hash'])
    .where('m.client_id', '=', clientId)
    .where((eb) => eb.or([eb('d.expires_at', 'is', null), eb('d.expires_at', '>', now)]))
    .orderBy('d.policy_id')
    .execute();
  const unique = new Map<string, PolicyTarget>();
  for (const row of rows)
    unique.set(row.policy_id, { policyId: row.policy_id, version: row.policy_version, hash: row.hash });
  return [...unique.values()];
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
