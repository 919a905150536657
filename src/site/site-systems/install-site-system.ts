import {
  isCanonicalBase64,
  publicKeyFromRecord,
  sha256Hex,
  verifySiteSystemProof,
  type SigningKey,
} from '../../trust/index.js';
import { certifyServerPublicKey, type CertificateAuthority } from '../../trust/tls/index.js';
import { appendAudit } from '../../admin/audit-log/index.js';
import type { InstallAnswer, InstallRequest } from '../../protocol/index.js';
import type { SiteDb } from '../database/site-db.js';
import { inTransaction, toJson } from '../database/site-db.js';
import { rootChain, siteCertificates } from '../hierarchy/trust-store.js';
import { ConflictError, InvalidRequestError } from '../site-errors.js';
import { saveIssuedCertificate, type TlsAuthorityRecord } from '../tls/tls-store.js';
import { CannotCertifyError } from './site-system-errors.js';
import type { SecurityMode } from '../security-mode/security-mode.js';
import { admitSiteSystem } from './system-tokens.js';
import { certifyManagementPointKey } from './mp-certificates.js';

/** What a site needs to certify a site system: its root keys, and its TLS CA when it has one. */
export interface CertifyingSite {
  siteCode: string;
  /** Empty at a site that holds no root key (a primary site, or the root key moved offline). */
  rootKeys: readonly SigningKey[];
  /** The hierarchy CA with its key, or undefined where this site cannot issue TLS certificates. */
  openCa(): Promise<{ ca: CertificateAuthority; record: TlsAuthorityRecord } | undefined>;
  /** The current CA and its endorsement (public), for the answer. */
  tlsFields(): Promise<{ tlsCaCertificate?: string; tlsCaEndorsement?: string }>;
  /** Validity of the site system's TLS server certificate, in days. */
  tlsValidityDays: number;
  /** The mode the site runs in: standard admits installs by the shared credential too. */
  securityMode: SecurityMode;
}

/**
 * POST /site-systems/v1/install (docs/scale-out.md): a management point or distribution point
 * installs itself with a one-time site system token (or, at a standard-mode site, the shared
 * site-system credential; the row records which). In one transaction: the token's proof over the
 * name, URLs and keys (no secret on the wire), the token's use; then the site certifies what the
 * system generated itself: a management point's key with a root-signed mp-certificate (C2), and the
 * TLS key it asked for with a server certificate from the hierarchy CA. The site system's row
 * records its key, so its later signed requests can be checked. Installing a name again (a new key,
 * a new host) revokes the name's earlier certificates. A site that holds no root key cannot certify
 * an MP (ERR_CANNOT_CERTIFY): install MPs at the central site, or bring the root key back.
 */
export async function installSiteSystem(
  db: SiteDb,
  site: CertifyingSite,
  request: InstallRequest,
  now: Date,
): Promise<InstallAnswer> {
  const systemId = `${site.siteCode}-${request.role}-${request.name}`;
  const systemKey = publicKeyFromRecord(request.systemKey);
  if (request.tlsPublicKey !== null && !isCanonicalBase64(request.tlsPublicKey)) {
    throw new InvalidRequestError('tlsPublicKey must be canonical base64');
  }
  const tlsPublicKeyDer =
    request.tlsPublicKey === null ? null : new Uint8Array(Buffer.from(request.tlsPublicKey, 'base64'));
  const fields = {
    tokenId: request.tokenId,
    siteCode: site.siteCode,
    role: request.role,
    name: request.name,
    urls: request.urls,
    systemKeyId: systemKey.keyId,
    tlsPublicKeySha256: tlsPublicKeyDer === null ? null : sha256Hex(tlsPublicKeyDer),
  };
  const ca = tlsPublicKeyDer === null ? undefined : await site.openCa();
  return inTransaction(db, async (trx) => {
    const installedWith = await admitSiteSystem(
      trx,
      { tokenId: request.tokenId, role: request.role, systemId, now, securityMode: site.securityMode },
      (proofKey) => verifySiteSystemProof(proofKey, fields, request.proof),
    );
    const existing = await trx
      .selectFrom('site_systems')
      .select(['id', 'embedded'])
      .where('site_code', '=', site.siteCode)
      .where('role', '=', request.role)
      .where('name', '=', request.name)
      .executeTakeFirst();
    if (existing?.embedded === true) {
      throw new ConflictError(
        `${request.name} is the site server's embedded ${request.role}; choose another name`,
      );
    }
    let mpCertificate: string | null = null;
    if (request.role === 'management-point') {
      if (site.rootKeys.length === 0) {
        throw new CannotCertifyError(
          `site ${site.siteCode} holds no root key, so it cannot certify a management point: install it at the central site, or bring keys/root-1.key back`,
        );
      }
      mpCertificate = await certifyManagementPoint(trx, site, request, now);
    }
    let tlsCertificate: string | null = null;
    if (tlsPublicKeyDer !== null) {
      if (ca === undefined) {
        throw new CannotCertifyError(
          `site ${site.siteCode} holds no hierarchy TLS CA key, so it cannot issue the TLS certificate asked for; install without TLS on loopback, or at the central site`,
        );
      }
      tlsCertificate = await certifyTlsKey(trx, ca, request, tlsPublicKeyDer, site.tlsValidityDays, now);
    }
    await trx
      .insertInto('site_systems')
      .values({
        id: systemId,
        site_code: site.siteCode,
        role: request.role,
        name: request.name,
        urls: toJson(request.urls),
        key_id: systemKey.keyId,
        public_key: request.systemKey.publicKey,
        certificate: mpCertificate,
        tls_certificate: tlsCertificate,
        embedded: false,
        health: 'unknown',
        last_seen_at: null,
        status_at: null,
        installed_with: installedWith,
      })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          urls: toJson(request.urls),
          key_id: systemKey.keyId,
          public_key: request.systemKey.publicKey,
          certificate: mpCertificate,
          tls_certificate: tlsCertificate,
          health: 'unknown',
          status_at: null,
          installed_with: installedWith,
        }),
      )
      .execute();
    await appendAudit(
      trx,
      {
        actor: `site system ${request.name}`,
        action: 'site-system.install',
        objectClass: 'site',
        objectId: systemId,
        details: {
          role: request.role,
          urls: request.urls,
          keyId: systemKey.keyId,
          tokenId: request.tokenId,
          installedWith,
          tls: tlsCertificate !== null,
          reinstalled: existing !== undefined,
        },
      },
      now,
    );
    return {
      siteCode: site.siteCode,
      rootChain: await rootChain(trx),
      siteCertificates: await siteCertificates(trx),
      ...(await site.tlsFields()),
      systemId,
      mpCertificate,
      tlsCertificate,
    };
  });
}

/** A root-signed mp-certificate for the MP's own key; earlier certificates of the name are revoked. */
async function certifyManagementPoint(
  db: SiteDb,
  site: CertifyingSite,
  request: InstallRequest,
  now: Date,
): Promise<string> {
  const certified = await certifyManagementPointKey(
    db,
    {
      siteCode: site.siteCode,
      mpName: request.name,
      urls: request.urls,
      mpKey: request.systemKey,
      rootKeys: site.rootKeys,
      revokePrevious: true,
    },
    now,
  );
  return certified.envelope;
}

/** A server certificate from the hierarchy CA for the hosts of the system's URLs. */
async function certifyTlsKey(
  db: SiteDb,
  authority: { ca: CertificateAuthority; record: TlsAuthorityRecord },
  request: InstallRequest,
  publicKeyDer: Uint8Array,
  validity: number,
  now: Date,
): Promise<string> {
  const dnsNames = new Set<string>();
  const ipAddresses = new Set<string>();
  for (const url of request.urls) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    if (/^[0-9.]+$/.test(host) || host.includes(':')) ipAddresses.add(host);
    else dnsNames.add(host.toLowerCase());
  }
  const issued = await certifyServerPublicKey(authority.ca, {
    commonName: `${request.name} ${request.role}`.slice(0, 64),
    dnsNames: [...dnsNames],
    ipAddresses: [...ipAddresses],
    validityDays: validity,
    now,
    publicKeyDer,
  });
  // Earlier server certificates of this name are revoked: a reinstalled system has a new key.
  await db
    .updateTable('tls_certificates')
    .set({ revoked_at: now })
    .where('kind', '=', 'server')
    .where('subject', '=', request.name)
    .where('revoked_at', 'is', null)
    .execute();
  await saveIssuedCertificate(db, {
    serialHex: issued.serialHex,
    caVersion: authority.record.version,
    kind: 'server',
    subject: request.name,
    clientId: null,
    names: [...dnsNames, ...ipAddresses],
    publicKeySha256: sha256Hex(publicKeyDer),
    certificatePem: issued.certificatePem,
    notBefore: issued.notBefore,
    notAfter: issued.notAfter,
    issuedAt: now,
  });
  return issued.certificatePem;
}
