/**
 * TLS client certificates for the agents of joined sites, through the site links (docs/tls.md,
 * "Agents of joined sites"). Only the central site holds the hierarchy CA key. A joined site's
 * management point checks an approved agent's signed `tls-client-request` (S1) and queues a
 * `client-tls-request` record for its parent (up, inside a site message its site key signs: S3);
 * sites in between relay it; the central site checks the agent's request again against the agent's
 * own key and certifies that TLS key, and a `client-tls-certificate` record goes back down the way
 * the request came. The site named checks and records it (relayed-client-certificates.ts); the
 * agent, which asks again with the same key, then receives it.
 */
import type { VerifiedClientCertificateRequest } from '../../../roles/management-point/client-certificate.js';
import { ClientCertificatePendingError } from '../../../roles/management-point/mp-errors.js';
import { publicKeyFromRecord, verifyTlsClientRequest } from '../../../trust/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { saveRelayedClientCertificate } from '../../tls/relayed-client-certificates.js';
import { clientCertificateFor } from '../../tls/tls-store.js';
import { SiteRecordInvalidError, UnknownSiteError } from '../hierarchy-errors.js';
import { parentLink } from '../links/link-store.js';
import { enqueue } from '../links/outbox.js';
import type { RecordApplier } from '../links/receiver.js';
import { readRecord, record } from '../records.js';
import { relayUp, requireBelow, sendDown, type SiteCertificateSite } from './site-certificate-flows.js';

/** A request accepted at a joined site is certified only if it reaches the central site within this. */
const maxRequestAgeMs = 7 * 24 * 3600 * 1000;
/** A site's clock may run ahead of the central site's by this much. */
const clockSkewMs = 5 * 60_000;
/** The same key is asked for again after this long without an answer (the link may have been cut). */
const askAgainMs = 5 * 60_000;
/** At most this many requests are remembered as asked (beyond it, they are asked again). */
const maxRemembered = 10_000;

/** `client-tls-request` (up): the central site certifies; a site in between relays it up. */
export function clientTlsRequestApplier(site: SiteCertificateSite): RecordApplier {
  return async (context, item) => {
    const body = readRecord('client-tls-request', item.body);
    await requireBelow(context, body.siteCode);
    if (site.siteType !== 'central') {
      await relayUp(context, site, record('client-tls-request', body));
      return;
    }
    if (site.tlsIssuer === undefined) {
      throw new SiteRecordInvalidError('this central site has no hierarchy CA to issue client certificates');
    }
    // A client held here must belong to the asking branch and must not be revoked.
    const held = await context.trx
      .selectFrom('clients')
      .select(['site_code', 'state'])
      .where('id', '=', body.clientId)
      .executeTakeFirst();
    if (held !== undefined) {
      await requireBelow(context, held.site_code);
      if (held.state === 'revoked') {
        throw new SiteRecordInvalidError(`client ${body.clientId.slice(0, 16)}… is revoked; no certificate`);
      }
    }
    // S1 again, here: the agent's own request, signed by its registered key, names the TLS key. It
    // is checked at the time its site's management point accepted it (the link may be slow).
    const receivedAt = new Date(body.receivedAt);
    if (
      receivedAt.getTime() > context.now.getTime() + clockSkewMs ||
      context.now.getTime() - receivedAt.getTime() > maxRequestAgeMs
    ) {
      throw new SiteRecordInvalidError(
        `a client certificate request accepted at ${body.receivedAt} is too old or in the future`,
      );
    }
    const verified = verifyTlsClientRequest(
      body.request,
      publicKeyFromRecord({ keyId: body.clientId, publicKey: body.clientPublicKey }),
      receivedAt,
    );
    if (verified.payload.clientId !== body.clientId || verified.payload.siteCode !== body.siteCode) {
      throw new SiteRecordInvalidError(
        `the certificate request of client ${body.clientId.slice(0, 16)}… names another client or site`,
      );
    }
    const certificate = await site.tlsIssuer.certifyClient(
      context.trx,
      body.clientId,
      { publicKey: verified.tlsPublicKey, publicKeySha256: verified.tlsPublicKeySha256 },
      context.now,
    );
    await sendDown(
      context,
      site,
      body.siteCode,
      record('client-tls-certificate', { siteCode: body.siteCode, clientId: body.clientId, certificate }),
    );
  };
}

/** `client-tls-certificate` (down): recorded by the site it names, relayed toward it by others. */
export function clientTlsCertificateApplier(site: SiteCertificateSite): RecordApplier {
  return async (context, item) => {
    const body = readRecord('client-tls-certificate', item.body);
    if (body.siteCode !== site.code) {
      await sendDown(context, site, body.siteCode, record('client-tls-certificate', body));
      return;
    }
    await saveRelayedClientCertificate(context.trx, {
      clientId: body.clientId,
      certificatePem: body.certificate,
      now: context.now,
    });
  };
}

/**
 * The `certify` of a joined site's management point: the certificate the central site sent down
 * for this client and key, once it is here; until then the request is queued for the parent (again
 * after five minutes without an answer) and the agent is told ERR_CLIENT_CERTIFICATE_PENDING.
 */
export function relayClientCertificates(
  db: SiteDb,
  siteCode: string,
): (
  request: VerifiedClientCertificateRequest,
  now: Date,
) => Promise<{ certificatePem: string; notAfter: Date }> {
  const asked = new Map<string, number>();
  return async (request, now) => {
    const held = await clientCertificateFor(db, request.clientId, request.tlsPublicKeySha256, now);
    if (held !== undefined) return held;
    const key = `${request.clientId}/${request.tlsPublicKeySha256}`;
    const last = asked.get(key);
    if (last === undefined || now.getTime() - last >= askAgainMs) {
      const parent = await parentLink(db);
      if (parent === undefined)
        throw new UnknownSiteError('this site has no parent to ask for client certificates');
      await enqueue(
        db,
        parent.site_code,
        [
          record('client-tls-request', {
            siteCode,
            clientId: request.clientId,
            clientPublicKey: request.clientPublicKey,
            request: request.encodedRequest,
            receivedAt: now.toISOString(),
          }),
        ],
        now,
      );
      if (asked.size >= maxRemembered) asked.clear();
      asked.set(key, now.getTime());
    }
    throw new ClientCertificatePendingError(
      'this site asked the central site for the client certificate through its parent link; ask again later',
    );
  };
}
