/**
 * What `steward directory publish --data DIR` publishes, read from a site's data folder: the root
 * chain and site certificate from the site database, its boundaries, its embedded management
 * points' certificates (or one named MP's) and its server locator points. An embedded database is
 * opened only under the data folder's lock, so never beside a running site server.
 */
import { lockFolder } from '../../platform/lock-file.js';
import { listBoundaries } from '../../site/boundaries/index.js';
import { siteDataLayout } from '../../site/data-folder/layout.js';
import { readSiteConfig } from '../../site/data-folder/site-config.js';
import { databaseLocation, openSiteDatabase } from '../../site/database/open.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { currentCertificate, rootChain } from '../../site/hierarchy/trust-store.js';
import { listSiteSystems } from '../../site/site-systems/site-systems.js';
import { DirectoryConfigError } from '../lookup/directory-errors.js';
import type { PublishEntries } from './desired-entries.js';

export interface SiteDataOptions {
  /** Publish only this management point (a separate MP host binding as its own account). */
  managementPoint?: string;
}

export async function siteEntriesFromDataFolder(
  dataDir: string,
  options: SiteDataOptions = {},
): Promise<{ siteCode: string; entries: PublishEntries }> {
  const layout = siteDataLayout(dataDir);
  const config = await readSiteConfig(layout.config);
  const location = databaseLocation(config.database ?? undefined, layout.database);
  const lock =
    location.kind === 'pglite' ? await lockFolder(dataDir, 'steward directory publish') : undefined;
  try {
    const database = await openSiteDatabase(location, { migrate: false });
    try {
      return {
        siteCode: config.code,
        entries: await siteEntriesFromDatabase(database.db, config.code, options),
      };
    } finally {
      await database.close();
    }
  } finally {
    await lock?.release();
  }
}

/** The same, from an open site database (the running site server publishes this way). */
export async function siteEntriesFromDatabase(
  db: SiteDb,
  siteCode: string,
  options: SiteDataOptions = {},
): Promise<PublishEntries> {
  const systems = (await listSiteSystems(db)).filter((system) => system.site_code === siteCode);
  const mpNames = systems
    .filter((system) => system.role === 'management-point')
    .filter((system) =>
      options.managementPoint === undefined ? system.embedded : system.name === options.managementPoint,
    )
    .map((system) => system.name);
  if (options.managementPoint !== undefined && mpNames.length === 0) {
    throw new DirectoryConfigError(
      `Site ${siteCode} has no management point named ${options.managementPoint}.`,
    );
  }
  const managementPoints = [];
  for (const name of mpNames) {
    const certificate = await currentCertificate(db, 'mp-certificate', name);
    if (certificate !== undefined) managementPoints.push({ certificate: certificate.envelope });
  }
  if (options.managementPoint !== undefined) return { managementPoints };
  const site = await currentCertificate(db, 'site-certificate', siteCode);
  if (site === undefined) throw new DirectoryConfigError(`Site ${siteCode} has no site certificate yet.`);
  return {
    siteCertificate: site.envelope,
    rootChain: await rootChain(db),
    boundaries: (await listBoundaries(db, { siteCode })).map((boundary) => boundary.value),
    managementPoints,
    serverLocatorPoints: systems
      .filter((system) => system.role === 'server-locator-point' && system.urls.length > 0)
      .map((system) => ({ name: system.name, siteCode, urls: system.urls })),
  };
}
