import { z } from 'zod';
import { defaultHierarchyConfig } from '../site/hierarchy/hierarchy-config.js';
import {
  securityModeOf,
  securityModeSchema,
  type SecurityMode,
} from '../site/security-mode/security-mode.js';
import type { AuditContext } from './security-check.js';

/**
 * What a site knows of the hierarchy, for the checks that look beyond the site itself: every site
 * in the `sites` table (the central site knows them all; a primary its own children) and the
 * security options each one reported in its site control (docs/hierarchy.md, "What flows where").
 */
export interface KnownSite {
  code: string;
  type: 'central' | 'primary' | 'secondary';
  parentCode: string | null;
  local: boolean;
  /** The URL the site reported (its site control), or this site's own URL. */
  url: string | null;
  /** The hierarchy options: this site's from site.json, the others' from their site control. */
  settings: { automaticKeyExchange: boolean; legacyInterop: boolean } | null;
  /** The security mode: this site's as it runs, the others' from their site control (null: not reported). */
  securityMode: SecurityMode | null;
}

const siteControlFacts = z.looseObject({
  url: z.string().optional(),
  settings: z
    .looseObject({
      automaticKeyExchange: z.boolean(),
      legacyInterop: z.boolean(),
      securityMode: securityModeSchema.optional(),
    })
    .optional(),
});

export async function knownSites(context: AuditContext): Promise<KnownSite[]> {
  const { db, config } = context;
  const rows = await db
    .selectFrom('sites')
    .select(['code', 'site_type', 'parent_code', 'is_local'])
    .orderBy('code')
    .execute();
  const controls = new Map(
    (await db.selectFrom('site_controls').select(['site_code', 'body']).execute()).map(
      (row) => [row.site_code, siteControlFacts.safeParse(row.body)] as const,
    ),
  );
  const local = config.hierarchy ?? defaultHierarchyConfig;
  const sites: KnownSite[] = rows.map((row) => {
    const isLocal = row.is_local || row.code === config.code;
    const control = controls.get(row.code);
    const facts = control?.success === true ? control.data : undefined;
    return {
      code: row.code,
      type: row.site_type,
      parentCode: row.parent_code,
      local: isLocal,
      url: isLocal ? context.url : (facts?.url ?? null),
      settings: isLocal
        ? { automaticKeyExchange: local.automaticKeyExchange, legacyInterop: local.legacyInterop }
        : facts?.settings === undefined
          ? null
          : {
              automaticKeyExchange: facts.settings.automaticKeyExchange,
              legacyInterop: facts.settings.legacyInterop,
            },
      securityMode: isLocal ? securityModeOf(config) : (facts?.settings?.securityMode ?? null),
    };
  });
  if (!sites.some((site) => site.local)) {
    sites.unshift({
      code: config.code,
      type: config.siteType,
      parentCode: null,
      local: true,
      url: context.url,
      settings: { automaticKeyExchange: local.automaticKeyExchange, legacyInterop: local.legacyInterop },
      securityMode: securityModeOf(config),
    });
  }
  return sites;
}

/** Sites that own clients and management points: the central site and primary sites. */
export function isPrimaryLike(site: KnownSite): boolean {
  return site.type !== 'secondary';
}
