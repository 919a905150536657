/**
 * A child site's own TLS material (docs/tls.md, "Site certificates"): the hierarchy CA it was sent
 * at join, trusted only with the root's `tls-ca` endorsement (C1), and its site server certificate,
 * accepted only when the CA issued it for this site's code and this site's own TLS key.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import type { TrustedRoot } from '../../trust/index.js';
import {
  describeCertificate,
  siteServerCommonName,
  TlsCertificateInvalidError,
  verifyCaEndorsement,
  verifySiteServerCertificate,
  type VerifiedSiteServerCertificate,
} from '../../trust/tls/index.js';
import type { SiteDataLayout } from '../data-folder/layout.js';
import type { SiteDb } from '../database/site-db.js';
import { saveIssuedCertificate, saveTlsAuthority, tlsAuthorities } from './tls-store.js';

/** The hierarchy CA as it travels to a child: its certificate and the root's endorsement. */
export interface HierarchyCaBundle {
  caCertificate: string;
  caEndorsement: string;
}

/** The newest hierarchy CA this site holds, to pass on to a child (undefined: none). */
export async function hierarchyCaBundle(db: SiteDb): Promise<HierarchyCaBundle | undefined> {
  const current = (await tlsAuthorities(db))[0];
  return current === undefined
    ? undefined
    : { caCertificate: current.certificatePem, caEndorsement: current.endorsement };
}

/** Verifies the CA against the root (C1) and records it unless it is here already; writes tls/ca.pem. */
export async function saveHierarchyCa(
  db: SiteDb,
  layout: SiteDataLayout,
  bundle: HierarchyCaBundle,
  root: TrustedRoot,
  now: Date,
): Promise<void> {
  const verified = verifyCaEndorsement(bundle.caEndorsement, bundle.caCertificate, root, now);
  const known = await tlsAuthorities(db);
  if (!known.some((a) => a.certificateSha256 === verified.payload.caCertificateSha256)) {
    await saveTlsAuthority(db, {
      version: verified.payload.version,
      siteCode: verified.payload.siteCode,
      certificatePem: bundle.caCertificate,
      certificateSha256: verified.payload.caCertificateSha256,
      endorsement: bundle.caEndorsement,
      notAfter: new Date(verified.payload.expiresAt),
    });
  }
  await writePublicPem(layout, layout.tlsCaCertificate, bundle.caCertificate);
}

/**
 * Records this site's server certificate after checking it (issued by a CA this site holds, for
 * its code and its TLS key: ERR_TLS_CERTIFICATE_INVALID otherwise). A certificate recorded before
 * is left as it is.
 */
export async function saveOwnSiteCertificate(
  db: SiteDb,
  input: { siteCode: string; certificatePem: string; publicKeySha256: string; now: Date },
): Promise<VerifiedSiteServerCertificate> {
  const expected = { siteCode: input.siteCode, publicKeySha256: input.publicKeySha256, now: input.now };
  const authorities = await tlsAuthorities(db);
  // Newest CA first; the last failure explains the refusal when no CA issued it.
  let verified: VerifiedSiteServerCertificate | undefined;
  let issuerVersion = 0;
  let failure: Error | undefined;
  for (const authority of authorities) {
    try {
      verified = verifySiteServerCertificate(input.certificatePem, [authority.certificatePem], expected);
      issuerVersion = authority.version;
      break;
    } catch (error) {
      failure = error instanceof Error ? error : new TlsCertificateInvalidError(String(error));
    }
  }
  if (verified === undefined) {
    throw (
      failure ?? new TlsCertificateInvalidError('this site holds no hierarchy CA to check its certificate')
    );
  }
  const exists = await db
    .selectFrom('tls_certificates')
    .select('serial')
    .where('serial', '=', verified.serialHex)
    .executeTakeFirst();
  if (exists === undefined) {
    await saveIssuedCertificate(db, {
      serialHex: verified.serialHex,
      caVersion: issuerVersion,
      kind: 'server',
      subject: siteServerCommonName(input.siteCode),
      clientId: null,
      names: certificateNames(input.certificatePem),
      publicKeySha256: input.publicKeySha256,
      certificatePem: input.certificatePem,
      notBefore: verified.notBefore,
      notAfter: verified.notAfter,
      issuedAt: input.now,
    });
  }
  return verified;
}

/** The DNS names and IP addresses a certificate carries. */
function certificateNames(pem: string): string[] {
  const text = describeCertificate(pem).subjectAltName ?? '';
  return text
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((name) => name !== '');
}

async function writePublicPem(layout: SiteDataLayout, path: string, pem: string): Promise<void> {
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === pem) return;
  await mkdir(layout.tlsDir, { recursive: true, mode: 0o755 });
  await writeFileAtomic(path, pem, 0o644);
}
