import { toJson, type SiteDb } from '../database/site-db.js';

/**
 * The site systems a site knows (DESIGN.md section 1): management points, distribution points and
 * server locator points, embedded in the site server or on their own hosts.
 */
export async function registerEmbeddedSiteSystems(
  db: SiteDb,
  site: { siteCode: string; url: string; mpName: string; mpKeyId: string; mpCertificate: string },
  now: Date,
): Promise<void> {
  const systems = [
    {
      id: `${site.siteCode}-mp-embedded`,
      role: 'management-point' as const,
      name: site.mpName,
      key_id: site.mpKeyId,
      certificate: site.mpCertificate,
    },
    {
      id: `${site.siteCode}-dp-embedded`,
      role: 'distribution-point' as const,
      name: `${site.siteCode}-DP1`,
      key_id: null,
      certificate: null,
    },
    {
      id: `${site.siteCode}-slp-embedded`,
      role: 'server-locator-point' as const,
      name: `${site.siteCode}-SLP1`,
      key_id: null,
      certificate: null,
    },
  ];
  for (const system of systems) {
    await db
      .insertInto('site_systems')
      .values({
        ...system,
        site_code: site.siteCode,
        urls: toJson([site.url]),
        embedded: true,
        health: 'ok',
        last_seen_at: now,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          urls: toJson([site.url]),
          key_id: system.key_id,
          certificate: system.certificate,
          last_seen_at: now,
        }),
      )
      .execute();
  }
}

/** Base URLs of the site's distribution points, for the content URLs of policy bodies. */
export async function distributionPointUrls(db: SiteDb, siteCode: string): Promise<string[]> {
  const rows = await db
    .selectFrom('site_systems')
    .select('urls')
    .where('site_code', '=', siteCode)
    .where('role', '=', 'distribution-point')
    .orderBy('name')
    .execute();
  return rows.flatMap((row) => row.urls);
}

export async function listSiteSystems(db: SiteDb) {
  return db.selectFrom('site_systems').selectAll().orderBy('role').orderBy('name').execute();
}

/**
 * The site server runs without its embedded roles (docs/scale-out.md): its embedded MP, DP and SLP
 * are no longer site systems, so neither policy (content URLs), trust bundles nor the locator name
 * them. They come back at the next start with the embedded roles on.
 */
export async function removeEmbeddedSiteSystems(db: SiteDb, siteCode: string): Promise<void> {
  await db
    .deleteFrom('site_systems')
    .where('site_code', '=', siteCode)
    .where('embedded', '=', true)
    .execute();
}
