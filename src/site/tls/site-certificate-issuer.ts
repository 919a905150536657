/**
 * The central site certifies other site servers' TLS keys with the hierarchy CA (docs/tls.md,
 * "Site certificates"): at join, and when a site asks for renewal through its parent link. The
 * request arrives inside a join request or a site message signed by the asking site's key (S3);
 * the key must be the one certified for that site before, if any (a renewal keeps the key). It
 * also certifies the TLS keys of joined sites' agents, whose requests travel the same way.
 */
import {
  readSiteTlsPublicKey,
  siteServerCommonName,
  TlsCertificateInvalidError,
  type TlsPublicKey,
} from '../../trust/tls/index.js';
import type { SiteDb } from '../database/site-db.js';
import type { SiteTls } from './site-tls.js';
import { latestServerCertificate } from './tls-store.js';

/** A TLS certificate request of a site server: its public key (base64 SPKI DER) and names. */
export interface SiteCertificateRequest {
  publicKey: string;
  dnsNames: string[];
  ipAddresses: string[];
}

export interface SiteCertificateIssuer {
  /** Certifies the site's TLS key (in the caller's transaction); returns the PEM certificate. */
  certify(db: SiteDb, siteCode: string, request: SiteCertificateRequest, now: Date): Promise<string>;
  /**
   * Certifies the TLS key of an approved agent of a joined site, from its verified request (in the
   * caller's transaction); returns the PEM certificate.
   */
  certifyClient(
    db: SiteDb,
    clientId: string,
    key: { publicKey: TlsPublicKey; publicKeySha256: string },
    now: Date,
  ): Promise<string>;
}

/**
 * An issuer over the central site's CA, opened on first use; the validities (site servers, clients)
 * from the site's settings.
 */
export function siteCertificateIssuer(
  open: () => Promise<SiteTls>,
  validityDays: number,
  clientValidityDays: number,
): SiteCertificateIssuer {
  let opened: Promise<SiteTls> | undefined;
  const authority = (): Promise<SiteTls> => {
    opened ??= open().catch((error: unknown) => {
      opened = undefined;
      throw error;
    });
    return opened;
  };
  return {
    certify: async (db, siteCode, request, now) => {
      const key = readSiteTlsPublicKey(request.publicKey);
      const previous = await latestServerCertificate(db, siteServerCommonName(siteCode));
      if (previous !== undefined && previous.publicKeySha256 !== key.publicKeySha256) {
        throw new TlsCertificateInvalidError(
          `site ${siteCode} asks for a certificate for another TLS key than the one certified before`,
        );
      }
      const tls = await authority();
      const issued = await tls.certifySiteServer(db, {
        siteCode,
        key,
        names: { dnsNames: request.dnsNames, ipAddresses: request.ipAddresses },
        validityDays,
        now,
      });
      return issued.certificatePem;
    },
    certifyClient: async (db, clientId, key, now) => {
      const tls = await authority();
      const issued = await tls.certifyClient(
        clientId,
        key.publicKey,
        key.publicKeySha256,
        clientValidityDays,
        now,
        db,
      );
      return issued.certificatePem;
    },
  };
}
