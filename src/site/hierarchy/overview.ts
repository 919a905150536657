import { fingerprintOf } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { allLinks, linkBacklog } from './links/link-store.js';
import { linkSettings, statusForwarding } from './settings.js';
import { boundaryConflicts } from './boundary-conflicts.js';

const iso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : new Date(value).toISOString();

/**
 * What `steward site status` shows of the hierarchy (docs/hierarchy.md, "Monitoring"): each link
 * with its sequences, backlog, last contact and last error; every site this site knows (the
 * central site knows them all); content transfers from the parent; joins in progress.
 */
export async function hierarchyOverview(db: SiteDb) {
  const links = await Promise.all(
    (await allLinks(db)).map(async (link) => {
      const backlog = await linkBacklog(db, link.site_code);
      const lastInbound = await db
        .selectFrom('site_message_log')
        .select(['sequence', 'record_count', 'skipped', 'skip_error', 'unsigned', 'received_at'])
        .where('link_code', '=', link.site_code)
        .orderBy('sequence', 'desc')
        .limit(1)
        .executeTakeFirst();
      const sent = iso(link.last_sent_at);
      const received = iso(link.last_received_at);
      return {
        siteCode: link.site_code,
        direction: link.direction,
        siteType: link.site_type,
        url: link.url,
        outboundSequence: link.outbound_sequence,
        acknowledgedSequence: link.acknowledged_sequence,
        inboundSequence: link.inbound_sequence,
        backlog: { ...backlog, oldestEnqueuedAt: iso(backlog.oldestEnqueuedAt) },
        lastSentAt: sent,
        lastReceivedAt: received,
        lastContactAt:
          [sent, received]
            .filter((t): t is string => t !== null)
            .sort()
            .at(-1) ?? null,
        lastError: link.last_error,
        lastErrorAt: iso(link.last_error_at),
        failures: link.failures,
        lastInbound:
          lastInbound === undefined
            ? null
            : {
                sequence: lastInbound.sequence,
                records: lastInbound.record_count,
                skipped: lastInbound.skipped,
                skipError: lastInbound.skip_error,
                unsigned: lastInbound.unsigned,
                receivedAt: iso(lastInbound.received_at),
              },
        settings: await linkSettings(db, link.site_code),
      };
    }),
  );
  const controls = new Map(
    (
      await db.selectFrom('site_controls').select(['site_code', 'version', 'received_at', 'body']).execute()
    ).map((row) => [row.site_code, row] as const),
  );
  const sites = (
    await db
      .selectFrom('sites')
      .select(['code', 'name', 'site_type', 'parent_code', 'site_key_id', 'certificate', 'is_local'])
      .orderBy('code')
      .execute()
  ).map((site) => {
    const control = controls.get(site.code);
    return {
      code: site.code,
      name: site.name,
      type: site.site_type,
      parentCode: site.parent_code,
      local: site.is_local,
      siteKeyFingerprint: fingerprintOf(site.site_key_id),
      certified: site.certificate !== null,
      siteControlVersion: control?.version ?? null,
      siteControlReceivedAt: iso(control?.received_at),
    };
  });
  const transfers = await db
    .selectFrom('content_transfers')
    .select(['package_id', 'version', 'state', 'attempts', 'last_error', 'updated_at'])
    .orderBy('updated_at', 'desc')
    .limit(100)
    .execute();
  const joins = await db
    .selectFrom('hierarchy_joins')
    .select(['id', 'child_code', 'site_type', 'state', 'error', 'created_at', 'updated_at'])
    .orderBy('created_at', 'desc')
    .limit(50)
    .execute();
  return {
    statusForwarding: await statusForwarding(db),
    boundaryConflicts: await boundaryConflicts(db),
    links,
    sites,
    contentTransfers: transfers.map((t) => ({
      packageId: t.package_id,
      version: t.version,
      state: t.state,
      attempts: t.attempts,
      lastError: t.last_error,
      updatedAt: iso(t.updated_at),
    })),
    joins: joins.map((j) => ({
      joinId: j.id,
      childCode: j.child_code,
      siteType: j.site_type,
      state: j.state,
      error: j.error,
      createdAt: iso(j.created_at),
      updatedAt: iso(j.updated_at),
    })),
  };
}

export type HierarchyOverview = Awaited<ReturnType<typeof hierarchyOverview>>;

/** Per-site summaries of one deployment, as reported up by the sites below (the central site: all). */
export async function deploymentSummariesBySite(db: SiteDb, deploymentId: string) {
  const rows = await db
    .selectFrom('site_deployment_summaries')
    .select(['site_code', 'summary', 'updated_at'])
    .where('deployment_id', '=', deploymentId)
    .orderBy('site_code')
    .execute();
  return rows.map((row) => ({
    siteCode: row.site_code,
    summary: row.summary,
    updatedAt: iso(row.updated_at),
  }));
}
