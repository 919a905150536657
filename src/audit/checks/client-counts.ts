import type { SiteDb } from '../../site/database/site-db.js';

/**
 * Agents that are not revoked, counted by a column (the site's own clients, and at a parent site
 * those its children reported). Legacy clients are counted by advanced-clients-only instead.
 */
export async function countAgentsBy(
  db: SiteDb,
  column: 'root_source' | 'mode',
): Promise<{ value: string; siteCode: string; count: number }[]> {
  const rows = await db
    .selectFrom('clients')
    .select([column, 'site_code', (eb) => eb.fn.countAll<number>().as('n')])
    .where('kind', '=', 'agent')
    .where('state', '!=', 'revoked')
    .groupBy([column, 'site_code'])
    .orderBy(column)
    .orderBy('site_code')
    .execute();
  return rows.map((row) => ({
    value: String((row as Record<string, unknown>)[column]),
    siteCode: row.site_code,
    count: row.n,
  }));
}

/** Up to `limit` host names of agents matching `column = value`, for the evidence. */
export async function sampleHosts(
  db: SiteDb,
  column: 'root_source' | 'mode',
  value: string,
  limit = 10,
): Promise<string[]> {
  const rows = await db
    .selectFrom('clients')
    .select('hostname')
    .where('kind', '=', 'agent')
    .where('state', '!=', 'revoked')
    .where(column, '=', value as never)
    .orderBy('hostname')
    .limit(limit)
    .execute();
  return rows.map((row) => row.hostname);
}

/** "pinned: 12, directory: 3" (summed over sites). */
export function describeCounts(rows: readonly { value: string; count: number }[]): string {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.value, (totals.get(row.value) ?? 0) + row.count);
  return [...totals].map(([value, count]) => `${value}: ${count}`).join(', ');
}

/** The sum of the counts whose value passes `where`. */
export function total(
  rows: readonly { value: string; count: number }[],
  where: (value: string) => boolean,
): number {
  return rows.filter((row) => where(row.value)).reduce((sum, row) => sum + row.count, 0);
}
