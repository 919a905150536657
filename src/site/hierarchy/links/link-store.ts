import type { Selectable } from 'kysely';
import type { SiteDb } from '../../database/site-db.js';
import type { SiteLinkTable, SiteType } from '../hierarchy-schema.js';

/** A link between this site and its parent or one of its children (DESIGN.md section 1: site link). */
export type SiteLink = Selectable<SiteLinkTable>;

export async function createLink(
  db: SiteDb,
  link: { siteCode: string; direction: 'parent' | 'child'; siteType: SiteType; url: string },
  now: Date,
): Promise<void> {
  await db
    .insertInto('site_links')
    .values({
      site_code: link.siteCode,
      direction: link.direction,
      site_type: link.siteType,
      url: link.url.replace(/\/+$/, ''),
      created_at: now,
    })
    .onConflict((oc) => oc.column('site_code').doUpdateSet({ url: link.url.replace(/\/+$/, '') }))
    .execute();
}

export async function getLink(db: SiteDb, siteCode: string): Promise<SiteLink | undefined> {
  return db.selectFrom('site_links').selectAll().where('site_code', '=', siteCode).executeTakeFirst();
}

export async function parentLink(db: SiteDb): Promise<SiteLink | undefined> {
  return db.selectFrom('site_links').selectAll().where('direction', '=', 'parent').executeTakeFirst();
}

export async function childLinks(db: SiteDb): Promise<SiteLink[]> {
  return db
    .selectFrom('site_links')
    .selectAll()
    .where('direction', '=', 'child')
    .orderBy('site_code')
    .execute();
}

export async function allLinks(db: SiteDb): Promise<SiteLink[]> {
  return db.selectFrom('site_links').selectAll().orderBy('direction', 'desc').orderBy('site_code').execute();
}

export async function recordLinkError(
  db: SiteDb,
  siteCode: string,
  message: string,
  now: Date,
): Promise<void> {
  await db
    .updateTable('site_links')
    .set((eb) => ({
      last_error: message.slice(0, 1000),
      last_error_at: now,
      failures: eb('failures', '+', 1),
    }))
    .where('site_code', '=', siteCode)
    .execute();
}

/** Backlog of a link: records waiting (in no batch yet) and batches sent but not acknowledged. */
export async function linkBacklog(
  db: SiteDb,
  siteCode: string,
): Promise<{ records: number; bytes: number; batches: number; oldestEnqueuedAt: Date | null }> {
  const records = await db
    .selectFrom('site_outbox')
    .select((eb) => [
      eb.fn.countAll<number>().as('count'),
      eb.fn.coalesce(eb.fn.sum<number>('bytes'), eb.val(0)).as('bytes'),
      eb.fn.min<Date | null>('enqueued_at').as('oldest'),
    ])
    .where('link_code', '=', siteCode)
    .executeTakeFirstOrThrow();
  const batches = await db
    .selectFrom('site_outbox_batches')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('link_code', '=', siteCode)
    .executeTakeFirstOrThrow();
  return {
    records: records.count,
    bytes: records.bytes,
    batches: batches.count,
    oldestEnqueuedAt: records.oldest === null ? null : new Date(records.oldest),
  };
}
