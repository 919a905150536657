import type { TrustBundle } from '../../protocol/index.js';
import type { SiteDb } from '../database/site-db.js';
import { currentCertificate, rootChain, siteCertificates } from '../hierarchy/trust-store.js';
import { certifiedManagementPoints } from '../site-systems/management-points.js';
import { DataFolderError } from '../site-errors.js';

/**
 * What a management point hands agents for C1 and C2: the root chain and the certificates, and the
 * certificates of every MP of the site (docs/scale-out.md), so agents learn where else to poll.
 */
export async function loadTrustBundle(db: SiteDb, siteCode: string, mpName: string): Promise<TrustBundle> {
  const mp = await currentCertificate(db, 'mp-certificate', mpName);
  if (mp === undefined) throw new DataFolderError(`no certificate for management point ${mpName}`);
  const managementPoints = (await certifiedManagementPoints(db, siteCode, new Date())).map((m) => m.envelope);
  return {
    siteCode,
    rootChain: await rootChain(db),
    siteCertificates: await siteCertificates(db),
    mpCertificate: mp.envelope,
    ...(managementPoints.length > 0 ? { managementPoints } : {}),
  };
}
