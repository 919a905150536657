import type { SiteDb } from '../../site/database/site-db.js';

/** The management points a site knows, with the site they serve (its own, and those reported up). */
export async function managementPoints(db: SiteDb) {
  return db
    .selectFrom('site_systems')
    .select(['site_code', 'name', 'urls', 'embedded'])
    .where('role', '=', 'management-point')
    .orderBy('site_code')
    .orderBy('name')
    .execute();
}
