import { issueMpCertificate, type PublicKeyRecord, type SigningKey } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { saveCertificate } from '../hierarchy/trust-store.js';
import { validityDays } from '../init/validity.js';

/** What a new mp-certificate names (DESIGN.md section 2) and the root keys that sign it. */
export interface ManagementPointCertification {
  siteCode: string;
  mpName: string;
  urls: readonly string[];
  mpKey: PublicKeyRecord;
  rootKeys: readonly SigningKey[];
  /**
   * Mark the name's earlier certificates revoked (a new key, a new host, a rotated root); a plain
   * renewal of the same key leaves them to expire.
   */
  revokePrevious: boolean;
}

/**
 * Issues and stores a root-signed mp-certificate (C2) for a management point's key: one year of
 * validity, the next serial of the name. Every way a site certifies an MP goes through here: site
 * start's renewal, `steward mp install`, and the rotations of the MP key and of the root.
 */
export async function certifyManagementPointKey(
  db: SiteDb,
  input: ManagementPointCertification,
  now: Date,
): Promise<{ envelope: string; serial: number; expiresAt: Date }> {
  const previous = await db
    .selectFrom('certificates')
    .select((eb) => eb.fn.max<number | string>('serial').as('serial'))
    .where('kind', '=', 'mp-certificate')
    .where('subject', '=', input.mpName)
    .executeTakeFirst();
  const serial = Number(previous?.serial ?? 0) + 1;
  const expiresAt = new Date(now.getTime() + validityDays.mp * 24 * 3600 * 1000);
  const document = issueMpCertificate(
    {
      version: serial,
      mpName: input.mpName,
      siteCode: input.siteCode,
      urls: [...input.urls],
      mpKey: input.mpKey,
      issuedAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
    },
    input.rootKeys,
  );
  if (input.revokePrevious) {
    await db
      .updateTable('certificates')
      .set({ revoked_at: now })
      .where('kind', '=', 'mp-certificate')
      .where('subject', '=', input.mpName)
      .where('revoked_at', 'is', null)
      .execute();
  }
  await saveCertificate(db, {
    kind: 'mp-certificate',
    subject: input.mpName,
    siteCode: input.siteCode,
    keyId: input.mpKey.keyId,
    serial,
    issuedAt: now.toISOString(),
    expiresAt: expiresAt.toISOString(),
    document,
  });
  return { envelope: document.encoded, serial, expiresAt };
}
