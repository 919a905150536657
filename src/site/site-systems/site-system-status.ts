import type { ContentList, SiteSystemStatus } from '../../protocol/index.js';
import { chunks } from '../inventory/inventory-store.js';
import type { SiteDb } from '../database/site-db.js';
import { inTransaction } from '../database/site-db.js';
import type { VerifiedSiteSystem } from './site-system-requests.js';

/** The package versions a distribution point should hold: every version the site has. */
export async function contentForDistributionPoints(db: SiteDb): Promise<ContentList['items']> {
  const rows = await db
    .selectFrom('package_versions')
    .select(['package_id', 'version', 'manifest_hash'])
    .orderBy('package_id')
    .orderBy('version')
    .limit(20_000)
    .execute();
  return rows.map((row) => ({
    packageId: row.package_id,
    version: row.version,
    manifestHash: row.manifest_hash,
  }));
}

/**
 * A site system's health report: it was seen now, in the health it states; a distribution point's
 * content list replaces what it reported before (when it sends one).
 */
export async function applySiteSystemStatus(
  db: SiteDb,
  system: VerifiedSiteSystem,
  status: SiteSystemStatus,
  now: Date,
): Promise<void> {
  await inTransaction(db, async (trx) => {
    await trx
      .updateTable('site_systems')
      .set({ health: status.health, detail: status.detail, last_seen_at: now, status_at: now })
      .where('id', '=', system.id)
      .execute();
    if (status.content === null) return;
    await trx.deleteFrom('site_system_content').where('system_id', '=', system.id).execute();
    for (const chunk of chunks(status.content, 1000)) {
      await trx
        .insertInto('site_system_content')
        .values(
          chunk.map((item) => ({
            system_id: system.id,
            package_id: item.packageId,
            version: item.version,
            state: item.state,
            detail: item.detail,
            updated_at: now,
          })),
        )
        .onConflict((oc) => oc.columns(['system_id', 'package_id', 'version']).doNothing())
        .execute();
    }
  });
}

/** A management point on its own host reports its health straight to the database it writes to. */
export async function recordSiteSystemHealth(
  db: SiteDb,
  systemId: string,
  health: 'ok' | 'degraded',
  detail: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('site_systems')
    .set({ health, detail: detail.slice(0, 1000), last_seen_at: now, status_at: now })
    .where('id', '=', systemId)
    .execute();
}

/**
 * Site systems on their own hosts that have not reported since `before` are marked down (the
 * server locator point then stops offering them; agents fail over on their own anyway).
 */
export async function markSilentSiteSystemsDown(db: SiteDb, siteCode: string, before: Date): Promise<number> {
  const result = await db
    .updateTable('site_systems')
    .set({ health: 'down' })
    .where('site_code', '=', siteCode)
    .where('embedded', '=', false)
    .where('health', '!=', 'down')
    .where('last_seen_at', '<', before)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Each distribution point's content counts, for `steward site status`. */
export async function contentStateCounts(
  db: SiteDb,
): Promise<Map<string, { present: number; pending: number; failed: number }>> {
  const rows = await db
    .selectFrom('site_system_content')
    .select(['system_id', 'state', (eb) => eb.fn.countAll().as('count')])
    .groupBy(['system_id', 'state'])
    .execute();
  const result = new Map<string, { present: number; pending: number; failed: number }>();
  for (const row of rows) {
    const entry = result.get(row.system_id) ?? { present: 0, pending: 0, failed: 0 };
    entry[row.state] = Number(row.count);
    result.set(row.system_id, entry);
  }
  return result;
}
