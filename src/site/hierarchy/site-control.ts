import { z } from 'zod';
import { sha256Hex } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { inTransaction } from '../database/site-db.js';
import type { SecurityMode } from '../security-mode/security-mode.js';
import type { SiteHierarchyConfig } from './hierarchy-config.js';
import type { SiteType } from './hierarchy-schema.js';
import { parentLink } from './links/link-store.js';
import { enqueue } from './links/outbox.js';
import { record, type RecordBody } from './records.js';
import { readSetting, statusForwarding, writeSetting } from './settings.js';

const stateKey = 'hierarchy.siteControl';
const stateSchema = z.object({ version: z.number().int().min(0), hash: z.string() });

export interface SiteControlSource {
  code: string;
  name: string;
  siteType: SiteType;
  url: string;
  hierarchy: SiteHierarchyConfig;
  /** The security mode the site runs with; the parent's audit reads it (docs/audit.md). */
  securityMode: SecurityMode;
  /** Site systems of a site without a database of them (a secondary: its proxy MP and DP). */
  siteSystems?: RecordBody<'site-control'>['siteSystems'];
}

/**
 * The site control (DESIGN.md section 1): this site's configuration, versioned, sent up to its
 * parent in a signed site message whenever it changes. Returns the version sent, or null when
 * nothing changed or the site has no parent.
 */
export async function publishSiteControl(
  db: SiteDb,
  site: SiteControlSource,
  now: Date,
): Promise<number | null> {
  return inTransaction(db, async (trx) => {
    const parent = await parentLink(trx);
    if (parent === undefined) return null;
    const systems =
      site.siteSystems ??
      (
        await trx
          .selectFrom('site_systems')
          .select(['role', 'name', 'urls'])
          .where('site_code', '=', site.code)
          .orderBy('role')
          .orderBy('name')
          .execute()
      ).map((s) => ({ role: s.role, name: s.name, urls: s.urls }));
    // Boundaries of this site and of its secondary sites (configured here, as in SMS).
    const secondaries = await trx
      .selectFrom('site_links')
      .select('site_code')
      .where('direction', '=', 'child')
      .where('site_type', '=', 'secondary')
      .orderBy('site_code')
      .execute();
    // A secondary site's boundaries are its parent's to configure: it claims none itself.
    const boundarySites =
      site.siteType === 'secondary' ? [] : [site.code, ...secondaries.map((s) => s.site_code)];
    const boundaries = (
      await trx
        .selectFrom('boundaries')
        .select(['site_code', 'kind', 'value'])
        .where('site_code', 'in', boundarySites.length === 0 ? [''] : boundarySites)
        .orderBy('site_code')
        .orderBy('value')
        .execute()
    ).map((b) => ({ siteCode: b.site_code, kind: b.kind, value: b.value }));
    const content = {
      siteCode: site.code,
      parentCode: parent.site_code,
      siteType: site.siteType,
      name: site.name,
      url: site.url,
      siteSystems: systems,
      boundarySites,
      boundaries,
      settings: {
        legacyInterop: site.hierarchy.legacyInterop,
        automaticKeyExchange: site.hierarchy.automaticKeyExchange,
        securityMode: site.securityMode,
        statusForwarding: await statusForwarding(trx),
      },
    };
    const hash = sha256Hex(JSON.stringify(content));
    const parsed = stateSchema.safeParse(await readSetting(trx, stateKey));
    const held = parsed.success ? parsed.data : { version: 0, hash: '' };
    if (held.hash === hash) return null;
    const version = held.version + 1;
    await enqueue(trx, parent.site_code, [record('site-control', { ...content, version })], now);
    await writeSetting(trx, stateKey, { version, hash }, now);
    return version;
  });
}
