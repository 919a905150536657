import {
  isStewardError,
  issueMpCertificate,
  issueSiteCertificate,
  type PublicKeyRecord,
  type SigningKey,
} from '../../../trust/index.js';
import type { SiteDb } from '../../database/site-db.js';
import type { SiteCertificateIssuer } from '../../tls/site-certificate-issuer.js';
import type { SiteTlsRequest } from '../records.js';
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
  /** The child's TLS key and names, when it asked for a site server certificate. */
  tls?: SiteTlsRequest | undefined;
}

/**
 * The central site certifies a child's keys with the root (DESIGN.md section 2): a site certificate
 * naming its parent and type, and for a primary site the certificate of its embedded management
 * point, and with the hierarchy CA the TLS key of its site server (docs/tls.md). The site code must
 * be free in the whole hierarchy, which only the central site knows.
 */
export async function certifyChild(
  db: SiteDb,
  rootKeys: readonly SigningKey[],
  input: CertifyInput,
  now: Date,
  issuer?: SiteCertificateIssuer,
): Promise<{ siteCertificate: string; mpCertificate: string | null; tlsCertificate: string | null }> {
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
  let tlsCertificate: string | null = null;
  if (input.tls !== undefined && issuer !== undefined) {
    try {
      tlsCertificate = await issuer.certify(db, input.childCode, input.tls, now);
    } catch (error) {
      if (!isStewardError(error)) throw error;
      throw new JoinRefusedError(`the TLS key in the join request is refused: ${error.message}`, {
        cause: error,
      });
    }
  }
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
  return {
    siteCertificate: siteCertificate.encoded,
    mpCertificate: mpCertificate?.encoded ?? null,
    tlsCertificate,
  };
}
