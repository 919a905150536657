/**
 * What a root rotation signs again with the new root keys (docs/operations.md, "Rotate the root"):
 * the site's own site certificate, the certificates of its management points, and the root's
 * endorsement of the hierarchy TLS CA. Agents that follow the rotation (C1) check all three against
 * the new root only (C2, C4, C5 and the TLS CA), so the ones signed by the retired keys are replaced
 * in the same transaction as the new root document.
 */
import {
  envelopePayloadBytes,
  issueSiteCertificate,
  parseEnvelope,
  parsePayload,
  type SigningKey,
} from '../../trust/index.js';
import { endorseHierarchyCa } from '../../trust/tls/index.js';
import type { SiteDb } from '../database/site-db.js';
import { certificateFields } from '../hierarchy/site-trust.js';
import { saveCertificate } from '../hierarchy/trust-store.js';
import { validityDays } from '../init/validity.js';
import { certifyManagementPointKey } from '../site-systems/mp-certificates.js';
import { DataFolderError } from '../site-errors.js';
import { tlsAuthorities } from '../tls/tls-store.js';

const day = 24 * 3600 * 1000;

/** A new site certificate for this site's own key (same name, parent and type), the next serial. */
export async function recertifyLocalSite(
  db: SiteDb,
  rootKeys: readonly SigningKey[],
  now: Date,
): Promise<{ siteCode: string; serial: number }> {
  const local = await db
    .selectFrom('sites')
    .select(['code', 'certificate'])
    .where('is_local', '=', true)
    .executeTakeFirst();
  if (local?.certificate === null || local?.certificate === undefined) {
    throw new DataFolderError('the site database holds no certificate of this site');
  }
  const fields = certificateFields(local.certificate);
  const previous = await db
    .selectFrom('certificates')
    .select((eb) => eb.fn.max<number | string>('serial').as('serial'))
    .where('kind', '=', 'site-certificate')
    .where('subject', '=', local.code)
    .executeTakeFirst();
  const serial = Number(previous?.serial ?? 0) + 1;
  const expiresAt = new Date(now.getTime() + validityDays.site * day).toISOString();
  const document = issueSiteCertificate(
    {
      version: serial,
      siteCode: fields.siteCode,
      siteName: fields.siteName,
      siteKey: fields.siteKey,
      parentSiteCode: fields.parentSiteCode,
      siteType: fields.siteType,
      issuedAt: now.toISOString(),
      expiresAt,
    },
    rootKeys,
  );
  // The certificates signed under the retired root certify nothing for a rotated agent.
  await db
    .updateTable('certificates')
    .set({ revoked_at: now })
    .where('kind', '=', 'site-certificate')
    .where('subject', '=', local.code)
    .where('revoked_at', 'is', null)
    .execute();
  await saveCertificate(db, {
    kind: 'site-certificate',
    subject: local.code,
    siteCode: local.code,
    keyId: fields.siteKey.keyId,
    serial,
    issuedAt: now.toISOString(),
    expiresAt,
    document,
  });
  await db
    .updateTable('sites')
    .set({ certificate: document.encoded, updated_at: now })
    .where('code', '=', local.code)
    .execute();
  return { siteCode: local.code, serial };
}

/**
 * New certificates for every management point of the site, embedded or on its own host, and for the
 * embedded one while the site runs with its embedded roles off (it serves again when they are on):
 * the same name, URLs and key as its newest unrevoked certificate, signed by the new root; the
 * earlier ones are marked revoked, and the site system rows name the new certificate.
 */
export async function recertifyManagementPoints(
  db: SiteDb,
  siteCode: string,
  rootKeys: readonly SigningKey[],
  now: Date,
): Promise<{ name: string; serial: number }[]> {
  const rows = await db
    .selectFrom('certificates')
    .select(['subject', 'envelope'])
    .where('kind', '=', 'mp-certificate')
    .where('site_code', '=', siteCode)
    .where('revoked_at', 'is', null)
    .orderBy('subject')
    .orderBy('serial', 'desc')
    .execute();
  const newest = new Map<string, string>();
  for (const row of rows) if (!newest.has(row.subject)) newest.set(row.subject, row.envelope);
  const issued: { name: string; serial: number }[] = [];
  for (const [name, envelope] of newest) {
    // The site's own stored certificate: read for its URLs and key, which are certified again.
    const payload = parsePayload('mp-certificate', envelopePayloadBytes(parseEnvelope(envelope)));
    const certified = await certifyManagementPointKey(
      db,
      { siteCode, mpName: name, urls: payload.urls, mpKey: payload.mpKey, rootKeys, revokePrevious: true },
      now,
    );
    await db
      .updateTable('site_systems')
      .set({ certificate: certified.envelope })
      .where('site_code', '=', siteCode)
      .where('role', '=', 'management-point')
      .where('name', '=', name)
      .where('key_id', '=', payload.mpKey.keyId)
      .execute();
    issued.push({ name, serial: certified.serial });
  }
  return issued;
}

/** The root's `tls-ca` endorsement of every hierarchy CA still in date, signed again by the new root. */
export async function reendorseTlsAuthorities(
  db: SiteDb,
  rootKeys: readonly SigningKey[],
  now: Date,
): Promise<number[]> {
  const versions: number[] = [];
  for (const authority of await tlsAuthorities(db)) {
    if (authority.notAfter.getTime() <= now.getTime()) continue;
    const endorsement = endorseHierarchyCa(authority.certificatePem, {
      rootSigners: rootKeys,
      siteCode: authority.siteCode,
      now,
      version: authority.version,
    });
    await db
      .updateTable('tls_authorities')
      .set({ endorsement: endorsement.encoded })
      .where('version', '=', authority.version)
      .execute();
    versions.push(authority.version);
  }
  return versions;
}
