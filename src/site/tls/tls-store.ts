import type { SiteDb } from '../database/site-db.js';
import { toJson } from '../database/site-db.js';

/**
 * The site's TLS material in its database (docs/tls.md): hierarchy CA certificates with the root's
 * endorsement of each, and every certificate the CA issued, with serial, subject, validity and
 * revocation. Nothing here is secret: private keys stay in key files (or with the agent).
 */
export interface TlsAuthorityRecord {
  version: number;
  siteCode: string;
  certificatePem: string;
  certificateSha256: string;
  /** The encoded `tls-ca` envelope. */
  endorsement: string;
  notAfter: Date;
}

export async function saveTlsAuthority(db: SiteDb, record: TlsAuthorityRecord): Promise<void> {
  await db
    .insertInto('tls_authorities')
    .values({
      version: record.version,
      site_code: record.siteCode,
      certificate: record.certificatePem,
      certificate_sha256: record.certificateSha256,
      endorsement: record.endorsement,
      not_after: record.notAfter,
    })
    .execute();
}

/** Every CA, newest first. */
export async function tlsAuthorities(db: SiteDb): Promise<TlsAuthorityRecord[]> {
  const rows = await db.selectFrom('tls_authorities').selectAll().orderBy('version', 'desc').execute();
  return rows.map((row) => ({
    version: row.version,
    siteCode: row.site_code,
    certificatePem: row.certificate,
    certificateSha256: row.certificate_sha256,
    endorsement: row.endorsement,
    notAfter: new Date(row.not_after),
  }));
}

export interface IssuedCertificateRecord {
  serialHex: string;
  caVersion: number;
  kind: 'server' | 'client';
  subject: string;
  clientId: string | null;
  names: readonly string[];
  publicKeySha256: string;
  certificatePem: string;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
}

export async function saveIssuedCertificate(db: SiteDb, record: IssuedCertificateRecord): Promise<void> {
  await db
    .insertInto('tls_certificates')
    .values({
      serial: record.serialHex,
      ca_version: record.caVersion,
      kind: record.kind,
      subject: record.subject,
      client_id: record.clientId,
      names: toJson(record.names),
      public_key_sha256: record.publicKeySha256,
      certificate: record.certificatePem,
      not_before: record.notBefore,
      not_after: record.notAfter,
      issued_at: record.issuedAt,
      revoked_at: null,
    })
    .execute();
}

/** The newest unrevoked server certificate of a subject. */
export async function latestServerCertificate(
  db: SiteDb,
  subject: string,
): Promise<(IssuedCertificateRecord & { revokedAt: Date | null }) | undefined> {
  const row = await db
    .selectFrom('tls_certificates')
    .selectAll()
    .where('kind', '=', 'server')
    .where('subject', '=', subject)
    .where('revoked_at', 'is', null)
    .orderBy('issued_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    serialHex: row.serial,
    caVersion: row.ca_version,
    kind: row.kind,
    subject: row.subject,
    clientId: row.client_id,
    names: row.names,
    publicKeySha256: row.public_key_sha256,
    certificatePem: row.certificate,
    notBefore: new Date(row.not_before),
    notAfter: new Date(row.not_after),
    issuedAt: new Date(row.issued_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
  };
}

/**
 * Serials a listener must refuse: revoked certificates and every certificate of a revoked client,
 * that have not expired yet (an expired one is refused by the handshake anyway).
 */
export async function revokedSerials(db: SiteDb, now: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('tls_certificates')
    .leftJoin('clients', 'clients.id', 'tls_certificates.client_id')
    .select('tls_certificates.serial')
    .where('tls_certificates.not_after', '>', now)
    .where((eb) =>
      eb.or([eb('tls_certificates.revoked_at', 'is not', null), eb('clients.state', '=', 'revoked')]),
    )
    .execute();
  return rows.map((row) => row.serial);
}

/**
 * The serials `revokedSerials` names, for these clients only: read when the policy change feed names
 * them (a revocation is a policy change), so an MP on its own host refuses them within a feed interval.
 */
export async function revokedSerialsOf(
  db: SiteDb,
  clientIds: readonly string[],
  now: Date,
): Promise<string[]> {
  if (clientIds.length === 0) return [];
  const rows = await db
    .selectFrom('tls_certificates')
    .innerJoin('clients', 'clients.id', 'tls_certificates.client_id')
    .select('tls_certificates.serial')
    .where('tls_certificates.client_id', 'in', clientIds)
    .where('tls_certificates.not_after', '>', now)
    .where((eb) =>
      eb.or([eb('tls_certificates.revoked_at', 'is not', null), eb('clients.state', '=', 'revoked')]),
    )
    .execute();
  return rows.map((row) => row.serial);
}

/** Revokes every certificate of a client; returns their serials. */
export async function revokeClientCertificates(db: SiteDb, clientId: string, now: Date): Promise<string[]> {
  await db
    .updateTable('tls_certificates')
    .set({ revoked_at: now })
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .execute();
  const rows = await db
    .selectFrom('tls_certificates')
    .select('serial')
    .where('client_id', '=', clientId)
    .execute();
  return rows.map((row) => row.serial);
}

/** Certificates issued to a client that are still in date and not revoked (newest first). */
export async function currentClientCertificates(
  db: SiteDb,
  clientId: string,
  now: Date,
): Promise<{ serialHex: string; notAfter: Date }[]> {
  const rows = await db
    .selectFrom('tls_certificates')
    .select(['serial', 'not_after'])
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .where('not_after', '>', now)
    .orderBy('issued_at', 'desc')
    .execute();
  return rows.map((row) => ({ serialHex: row.serial, notAfter: new Date(row.not_after) }));
}

/** The newest unrevoked certificate issued to a client for this TLS key that is still in date. */
export async function clientCertificateFor(
  db: SiteDb,
  clientId: string,
  publicKeySha256: string,
  now: Date,
): Promise<{ certificatePem: string; notAfter: Date } | undefined> {
  const row = await db
    .selectFrom('tls_certificates')
    .select(['certificate', 'not_after'])
    .where('kind', '=', 'client')
    .where('client_id', '=', clientId)
    .where('public_key_sha256', '=', publicKeySha256)
    .where('revoked_at', 'is', null)
    .where('not_after', '>', now)
    .orderBy('issued_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row === undefined
    ? undefined
    : { certificatePem: row.certificate, notAfter: new Date(row.not_after) };
}

/** True when a certificate with this serial is recorded. */
export async function hasCertificate(db: SiteDb, serialHex: string): Promise<boolean> {
  const row = await db
    .selectFrom('tls_certificates')
    .select('serial')
    .where('serial', '=', serialHex)
    .executeTakeFirst();
  return row !== undefined;
}
