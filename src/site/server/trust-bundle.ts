import type { TrustBundle } from '../../protocol/index.js';
import type { SiteDb } from '../database/site-db.js';
import { currentCertificate, rootChain, siteCertificates } from '../hierarchy/trust-store.js';
import { DataFolderError } from '../site-errors.js';

/** What a management point hands agents for C1 and C2: the root chain and the certificates. */
export async function loadTrustBundle(db: SiteDb, siteCode: string, mpName: string): Promise<TrustBundle> {
  const mp = await currentCertificate(db, 'mp-certificate', mpName);
  if (mp === undefined) throw new DataFolderError(`no certificate for management point ${mpName}`);
  return {
    siteCode,
    rootChain: await rootChain(db),
    siteCertificates: await siteCertificates(db),
    mpCertificate: mp.envelope,
  };
}
