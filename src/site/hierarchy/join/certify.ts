import {
  issueMpCertificate,
  issueSiteCertificate,
  type PublicKeyRecord,
  type SigningKey,
} from '../../../trust/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { certificateValidity } from '../../init/validity.js';
import { JoinRefusedError } from '../hierarchy-errors.js';
import type { ChildSiteType } from '../hierarchy-schema.js';
import { saveSite } from '../site-trust.js';

export interface CertifyInput {
  childCode: string;
  siteName: string;
  siteType: ChildSiteType;
  parentCode: string;
  siteKey: PublicKeyRecord;
  mpKey: PublicKeyRecord | null;
  url: string;
}

/**
 * The central site certifies a child's keys with the root (DESIGN.md section 2): a site certificate
 * naming its parent and type, and for a primary site the certificate of its embedded management
 * point. The site code must be free in the whole hierarchy, which only the central site knows.
 */
export async function certifyChild(
  db: SiteDb,
  rootKeys: readonly SigningKey[],
  input: CertifyInput,
  now: Date,
): Promise<{ siteCertificate: string; mpCertificate: string | null }> {
  if (rootKeys.length === 0) {
    throw new JoinRefusedError('the root key is offline at the central site: no site can be certified now');
  }
  const taken = await db
    .selectFrom('sites')
    .select(['code', 'site_key_id', 'certificate', 'is_local'])
    .where('code', '=', input.childCode)
    .executeTakeFirst();
  if (
    taken !== undefined &&
    (taken.is_local || taken.certificate !== null || taken.site_key_id !== input.siteKey.keyId)
  ) {
    throw new JoinRefusedError(`site code ${input.childCode} is in use in this hierarchy; choose another`);
  }
  const validity = certificateValidity(now);
  const siteCertificate = issueSiteCertificate(
    {
      version: 1,
      siteCode: input.childCode,
      siteName: input.siteName,
      siteKey: input.siteKey,
      parentSiteCode: input.parentCode,
      siteType: input.siteType,
      issuedAt: now.toISOString(),
      expiresAt: validity.site.toISOString(),
    },
    rootKeys,
  );
  const mpCertificate =
    input.mpKey === null
      ? null
      : issueMpCertificate(
          {
            version: 1,
            mpName: `${input.childCode}-MP1`,
            siteCode: input.childCode,
            urls: [input.url],
            mpKey: input.mpKey,
            issuedAt: now.toISOString(),
            expiresAt: validity.mp.toISOString(),
          },
          rootKeys,
        );
  await saveSite(
    db,
    {
      code: input.childCode,
      name: input.siteName,
      siteType: input.siteType,
      parentCode: input.parentCode,
      siteKeyId: input.siteKey.keyId,
      certificate: siteCertificate.encoded,
    },
    now,
  );
  return { siteCertificate: siteCertificate.encoded, mpCertificate: mpCertificate?.encoded ?? null };
}
