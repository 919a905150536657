import { verifyMpCertificate, type VerifyingKey } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { siteRoot } from '../hierarchy/site-trust.js';

/** At most this many management points are named in a trust bundle (its schema's limit). */
export const maxBundledManagementPoints = 16;

/** A management point of this site whose root-signed certificate verifies now (C2). */
export interface CertifiedManagementPoint {
  readonly name: string;
  readonly envelope: string;
  readonly key: VerifyingKey;
  readonly urls: readonly string[];
}

/**
 * The site's management points, embedded or on their own hosts (docs/scale-out.md): those site
 * systems whose mp-certificate verifies against the site's root for this site, by name. They go
 * into the trust bundle (agents learn where else to poll and accept lists any of them signed) and
 * decide which stored assignment lists an MP may serve as they are.
 */
export async function certifiedManagementPoints(
  db: SiteDb,
  siteCode: string,
  now: Date,
): Promise<CertifiedManagementPoint[]> {
  const rows = await db
    .selectFrom('site_systems')
    .select(['name', 'certificate'])
    .where('site_code', '=', siteCode)
    .where('role', '=', 'management-point')
    .where('certificate', 'is not', null)
    .orderBy('name')
    .execute();
  if (rows.length === 0) return [];
  const root = await siteRoot(db, now);
  const result: CertifiedManagementPoint[] = [];
  for (const row of rows) {
    if (row.certificate === null || row.certificate === '') continue;
    try {
      const verified = verifyMpCertificate(row.certificate, root, now, siteCode);
      result.push({
        name: verified.payload.mpName,
        envelope: row.certificate,
        key: verified.key,
        urls: verified.payload.urls,
      });
    } catch {
      // Expired, revoked by a root rotation, or for another site: it certifies nothing.
    }
    if (result.length === maxBundledManagementPoints) break;
  }
  return result;
}
