/**
 * Renewal of site server certificates through the site links (docs/tls.md, "Site certificates").
 * A site asks its parent with a `site-tls-request` record (up, inside a site message its site key
 * signs: S3); sites in between relay it; the central site's hierarchy CA certifies the same key
 * again and sends a `site-tls-certificate` record back down the way the request came. The site
 * named checks the certificate (issued by its CA, for its code and key) before it records it; its
 * listener then swaps it in.
 */
import { siteServerCommonName } from '../../../trust/tls/index.js';
import type { SiteDb } from '../../database/site-db.js';
import type { SiteCertificateIssuer } from '../../tls/site-certificate-issuer.js';
import { saveOwnSiteCertificate } from '../../tls/site-certificate-store.js';
import { latestServerCertificate } from '../../tls/tls-store.js';
import { SiteRecordInvalidError, UnknownSiteError } from '../hierarchy-errors.js';
import type { SiteType } from '../hierarchy-schema.js';
import { parentLink } from '../links/link-store.js';
import { enqueue } from '../links/outbox.js';
import type { ApplyContext, RecordApplier } from '../links/receiver.js';
import { readRecord, record, type OutboundRecord, type SiteTlsRequest } from '../records.js';
import { childLinkToward, isInSubtreeOf } from '../site-trust.js';

export interface SiteCertificateSite {
  code: string;
  siteType: SiteType;
  /** The central site's issuer; undefined elsewhere. */
  tlsIssuer?: SiteCertificateIssuer | undefined;
  /** New records are in an outbox. */
  queued(): void;
}

/** Queues this site's renewal request for its parent. ERR_UNKNOWN_SITE when it has no parent. */
export async function requestSiteCertificate(
  db: SiteDb,
  siteCode: string,
  request: SiteTlsRequest,
  now: Date,
): Promise<void> {
  const parent = await parentLink(db);
  if (parent === undefined) throw new UnknownSiteError('this site has no parent to renew its certificate');
  await enqueue(db, parent.site_code, [record('site-tls-request', { siteCode, ...request })], now);
}

/** `site-tls-request` (up): the central site certifies; a site in between relays it up. */
export function siteTlsRequestApplier(site: SiteCertificateSite): RecordApplier {
  return async (context, item) => {
    const body = readRecord('site-tls-request', item.body);
    await requireBelow(context, body.siteCode);
    if (site.siteType !== 'central') {
      await relayUp(context, site, record('site-tls-request', body));
      return;
    }
    if (site.tlsIssuer === undefined) {
      throw new SiteRecordInvalidError('this central site has no hierarchy CA to issue site certificates');
    }
    const { siteCode, ...request } = body;
    const certificate = await site.tlsIssuer.certify(context.trx, siteCode, request, context.now);
    await sendDown(context, site, siteCode, record('site-tls-certificate', { siteCode, certificate }));
  };
}

/** `site-tls-certificate` (down): recorded by the site it names, relayed toward it by others. */
export function siteTlsCertificateApplier(site: SiteCertificateSite): RecordApplier {
  return async (context, item) => {
    const body = readRecord('site-tls-certificate', item.body);
    if (body.siteCode !== site.code) {
      await sendDown(context, site, body.siteCode, record('site-tls-certificate', body));
      return;
    }
    const own = await latestServerCertificate(context.trx, siteServerCommonName(site.code));
    if (own === undefined) throw new SiteRecordInvalidError('this site never had a site server certificate');
    await saveOwnSiteCertificate(context.trx, {
      siteCode: site.code,
      certificatePem: body.certificate,
      publicKeySha256: own.publicKeySha256,
      now: context.now,
    });
  };
}

/** Queues a record for the child link that leads to `siteCode` (this site's child or below it). */
export async function sendDown(
  context: ApplyContext,
  site: SiteCertificateSite,
  siteCode: string,
  item: OutboundRecord,
): Promise<void> {
  const link = await childLinkToward(context.trx, siteCode);
  if (link === undefined) throw new UnknownSiteError(`no link leads to site ${siteCode}`);
  await enqueue(context.trx, link, [item], context.now);
  context.after(() => site.queued());
}

/** Queues a record for this site's parent (a site between the asking site and the central site). */
export async function relayUp(
  context: ApplyContext,
  site: SiteCertificateSite,
  item: OutboundRecord,
): Promise<void> {
  const parent = await parentLink(context.trx);
  if (parent === undefined) throw new UnknownSiteError('no parent to relay the certificate request to');
  await enqueue(context.trx, parent.site_code, [item], context.now);
  context.after(() => site.queued());
}

/** The site named must be the sending child or lie below it. */
export async function requireBelow(context: ApplyContext, siteCode: string): Promise<void> {
  if (siteCode === context.link.site_code) return;
  if (!(await isInSubtreeOf(context.trx, siteCode, context.link.site_code))) {
    throw new UnknownSiteError(
      `site ${context.link.site_code} spoke for site ${siteCode}, which is not below it`,
    );
  }
}
