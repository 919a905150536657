import type { VerifyingKey } from '../../../trust/index.js';
import { verifySiteCertificate } from '../../../trust/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { siteCertificates } from '../trust-store.js';
import { siteRoot } from '../site-trust.js';

/**
 * The site keys this site accepts on manifests and policy bodies: those of the site certificates it
 * holds (its own and its ancestors') that verify now against its root (C2). A certificate that does
 * not verify certifies nothing.
 */
export async function certifiedSiteKeys(db: SiteDb, now: Date): Promise<Map<string, VerifyingKey>> {
  const root = await siteRoot(db, now);
  const keys = new Map<string, VerifyingKey>();
  for (const envelope of await siteCertificates(db)) {
    try {
      const verified = verifySiteCertificate(envelope, root, now);
      keys.set(verified.key.keyId, verified.key);
    } catch {
      // not certified (expired, another hierarchy): its key signs nothing here
    }
  }
  return keys;
}
