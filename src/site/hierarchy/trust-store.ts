import type { SignedDocument } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';

/**
 * The site's copies of the root chain and the certificates the root issued (DESIGN.md section 2).
 * Management points serve these to agents; nothing here is secret.
 */
export async function saveRootDocument(
  db: SiteDb,
  document: SignedDocument,
  version: number,
  expiresAt: string,
): Promise<void> {
  await db
    .insertInto('root_documents')
    .values({ version, envelope: document.encoded, hash: document.hash, expires_at: expiresAt })
    .onConflict((oc) => oc.column('version').doNothing())
    .execute();
}

/** The whole root chain, version 1 first. */
export async function rootChain(db: SiteDb): Promise<string[]> {
  const rows = await db.selectFrom('root_documents').select('envelope').orderBy('version').execute();
  return rows.map((row) => row.envelope);
}

export interface CertificateRecord {
  kind: 'site-certificate' | 'mp-certificate';
  subject: string;
  siteCode: string;
  keyId: string;
  serial: number;
  issuedAt: string;
  expiresAt: string;
  document: SignedDocument;
}

export async function saveCertificate(db: SiteDb, record: CertificateRecord): Promise<void> {
  await db
    .insertInto('certificates')
    .values({
      hash: record.document.hash,
      kind: record.kind,
      subject: record.subject,
      site_code: record.siteCode,
      key_id: record.keyId,
      serial: record.serial,
      envelope: record.document.encoded,
      issued_at: record.issuedAt,
      expires_at: record.expiresAt,
      revoked_at: null,
    })
    .onConflict((oc) => oc.column('hash').doNothing())
    .execute();
}

/** The newest unrevoked certificate of a subject (a site code, or an MP name). */
export async function currentCertificate(
  db: SiteDb,
  kind: CertificateRecord['kind'],
  subject: string,
): Promise<{ envelope: string; serial: number; expiresAt: Date; keyId: string } | undefined> {
  const row = await db
    .selectFrom('certificates')
    .select(['envelope', 'serial', 'expires_at', 'key_id'])
    .where('kind', '=', kind)
    .where('subject', '=', subject)
    .where('revoked_at', 'is', null)
    .orderBy('serial', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { envelope: row.envelope, serial: row.serial, expiresAt: new Date(row.expires_at), keyId: row.key_id };
}

/** The current certificate of every site this site knows (its own and its ancestors'). */
export async function siteCertificates(db: SiteDb): Promise<string[]> {
  const rows = await db
    .selectFrom('certificates')
    .select(['subject', 'envelope', 'serial'])
    .where('kind', '=', 'site-certificate')
    .where('revoked_at', 'is', null)
    .orderBy('subject')
    .orderBy('serial', 'desc')
    .execute();
  const newest = new Map<string, string>();
  for (const row of rows) if (!newest.has(row.subject)) newest.set(row.subject, row.envelope);
  return [...newest.values()];
}
