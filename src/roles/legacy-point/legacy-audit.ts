import type { SiteDb } from '../../site/database/site-db.js';
import { readLegacySettings } from './legacy-settings.js';
import { countLegacyClients } from './legacy-store.js';

/**
 * What `steward audit` needs about legacy clients (DESIGN.md section 7: "advanced clients only
 * (legacy clients counted)"): whether the site accepts them, whether it sends deployments to
 * clients that cannot check signatures, and how many of each it has. Also served by
 * `GET /api/v1/legacy-clients`.
 */
export interface LegacyClientAuditFacts {
  enabled: boolean;
  allowUnverified: boolean;
  clients: Awaited<ReturnType<typeof countLegacyClients>>;
}

export async function legacyClientAuditFacts(db: SiteDb): Promise<LegacyClientAuditFacts> {
  const [settings, clients] = await Promise.all([readLegacySettings(db), countLegacyClients(db)]);
  return { enabled: settings.enabled, allowUnverified: settings.allowUnverified, clients };
}
