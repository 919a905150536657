import {
  envelopePayloadBytes,
  parseEnvelope,
  parsePayload,
  sha256Hex,
  trustRootOnFirstUse,
  verifySiteCertificate,
  type SiteCertificatePayload,
  type TrustedRoot,
  type VerifiedCertificate,
} from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { rootChain, saveCertificate } from './trust-store.js';
import { UnknownSiteError } from './hierarchy-errors.js';

/**
 * What a site trusts about other sites (S3): the root it holds (its stored chain, verified when it
 * arrived and followed through every rotation since), and the site certificates the root issued.
 * A site key is accepted only with a certificate that chains to that root, for that site, in date.
 */
export async function siteRoot(db: SiteDb, now: Date): Promise<TrustedRoot> {
  return trustRootOnFirstUse(await rootChain(db), now);
}

/** The stored certificate of another site (the `sites` table), or of this site or an ancestor. */
async function storedCertificate(db: SiteDb, siteCode: string): Promise<string | undefined> {
  const site = await db
    .selectFrom('sites')
    .select('certificate')
    .where('code', '=', siteCode)
    .executeTakeFirst();
  if (site?.certificate !== null && site?.certificate !== undefined) return site.certificate;
  const certificate = await db
    .selectFrom('certificates')
    .select('envelope')
    .where('kind', '=', 'site-certificate')
    .where('subject', '=', siteCode)
    .where('revoked_at', 'is', null)
    .orderBy('serial', 'desc')
    .limit(1)
    .executeTakeFirst();
  return certificate?.envelope;
}

/**
 * S3: the certified key of a site, its certificate verified now against the site's root (C2 rules:
 * ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID, ERR_EXPIRED, ERR_CERTIFICATE_SITE_MISMATCH).
 * ERR_UNKNOWN_SITE when no certificate of that site is known here.
 */
export async function certifiedSite(
  db: SiteDb,
  siteCode: string,
  now: Date,
  root?: TrustedRoot,
): Promise<VerifiedCertificate<SiteCertificatePayload>> {
  const envelope = await storedCertificate(db, siteCode);
  if (envelope === undefined) throw new UnknownSiteError(`no certificate of site ${siteCode} is known here`);
  return verifySiteCertificate(envelope, root ?? (await siteRoot(db, now)), now, siteCode);
}

/** Reads a certificate's payload without verifying it: only to store fields of one verified before. */
export function certificateFields(envelope: string): SiteCertificatePayload {
  return parsePayload('site-certificate', envelopePayloadBytes(parseEnvelope(envelope)));
}

/**
 * Records another site of the hierarchy (its certificate verified by the caller): the `sites` row
 * that S3 reads, and for this site's ancestors a copy in `certificates`, which management points
 * hand to agents so that they can check bodies and manifests signed by ancestors (C4, C5).
 */
export async function saveSite(
  db: SiteDb,
  site: {
    code: string;
    name: string;
    siteType: 'central' | 'primary' | 'secondary';
    parentCode: string | null;
    siteKeyId: string;
    certificate: string | null;
    ancestor?: boolean;
  },
  now: Date,
): Promise<void> {
  await db
    .insertInto('sites')
    .values({
      code: site.code,
      name: site.name,
      site_type: site.siteType,
      parent_code: site.parentCode,
      site_key_id: site.siteKeyId,
      certificate: site.certificate,
      is_local: false,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .column('code')
        .doUpdateSet((eb) => ({
          name: site.name,
          site_type: site.siteType,
          parent_code: site.parentCode,
          site_key_id: site.siteKeyId,
          certificate: site.certificate === null ? eb.ref('sites.certificate') : eb.val(site.certificate),
          updated_at: now,
        }))
        .where('sites.is_local', '=', false),
    )
    .execute();
  if (site.ancestor === true && site.certificate !== null) {
    await saveSiteCertificate(db, site.certificate);
  }
}

/** Stores a (verified) site certificate in `certificates`, where management points find it. */
export async function saveSiteCertificate(db: SiteDb, envelope: string): Promise<void> {
  const payload = certificateFields(envelope);
  const bytes = envelopePayloadBytes(parseEnvelope(envelope));
  await saveCertificate(db, {
    kind: 'site-certificate',
    subject: payload.siteCode,
    siteCode: payload.siteCode,
    keyId: payload.siteKey.keyId,
    serial: payload.version,
    issuedAt: payload.issuedAt,
    expiresAt: payload.expiresAt,
    document: {
      envelope: parseEnvelope(envelope),
      encoded: envelope,
      payloadBytes: bytes,
      hash: sha256Hex(bytes),
    },
  });
}

/** The code of this site's direct child through which `target` is reached, if any. */
export async function childLinkToward(db: SiteDb, target: string): Promise<string | undefined> {
  let current: string | null = target;
  for (let depth = 0; current !== null && depth < 64; depth += 1) {
    const link = await db
      .selectFrom('site_links')
      .select('site_code')
      .where('site_code', '=', current)
      .where('direction', '=', 'child')
      .executeTakeFirst();
    if (link !== undefined) return link.site_code;
    const row: { parent_code: string | null; is_local: boolean } | undefined = await db
      .selectFrom('sites')
      .select(['parent_code', 'is_local'])
      .where('code', '=', current)
      .executeTakeFirst();
    if (row === undefined || row.is_local) return undefined;
    current = row.parent_code;
  }
  return undefined;
}

/** True when `siteCode` is `linkCode` itself or lies below it (as far as this site knows). */
export async function isInSubtreeOf(db: SiteDb, siteCode: string, linkCode: string): Promise<boolean> {
  return (await childLinkToward(db, siteCode)) === linkCode;
}
