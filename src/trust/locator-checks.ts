/**
 * C2 locating: what an agent checks before it believes a server locator point's answer about which
 * site and management points serve its network. The answer only tells the agent where to go; the
 * MP key it then meets is still checked by verifyMpCertificate (C2 proper).
 */
import type { SiteCertificatePayload } from './documents/site-certificate.js';
import { openDocument, type DocumentLimits, type OpenedDocument } from './documents/open.js';
import type { Envelope } from './dsse.js';
import type { VerifiedCertificate } from './certificates.js';
import type { VerifyingKey } from './keys.js';
import { boundaryContains, parseIpAddress, readNetworkBoundary } from './network-boundary.js';
import { CertificateSiteMismatchError, WrongRecipientError } from './trust-errors.js';

/** A site key certified by the client's root (verifySiteCertificate), with the site it is for. */
export type CertifiedSiteKey = { key: VerifyingKey; siteCode: string };

/** Certified site keys by key id, from verified site certificates. */
export function certifiedSiteKeys(
  certificates: Iterable<VerifiedCertificate<SiteCertificatePayload>>,
): Map<string, CertifiedSiteKey> {
  const keys = new Map<string, CertifiedSiteKey>();
  for (const certificate of certificates) {
    keys.set(certificate.key.keyId, { key: certificate.key, siteCode: certificate.payload.siteCode });
  }
  return keys;
}

export type LocatorAnswerContext = {
  /** Site keys whose certificates chain to the client's root (C2), by key id. */
  siteKeys: ReadonlyMap<string, CertifiedSiteKey>;
  /** The client's own addresses, as it sent them to the locator. */
  addresses: readonly string[];
  /** The site the client already belongs to, when it knows one: an answer for another is refused. */
  siteCode?: string;
  now: Date;
  limits?: DocumentLimits;
};

/**
 * C2 locating, in order: signed by a certified site key (ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID);
 * schema (ERR_PAYLOAD_INVALID: among others, a validity longer than one hour); issued no later than
 * now + skew (ERR_NOT_YET_VALID); not expired, a stale answer (ERR_EXPIRED); signed by the key
 * certified for the very site the answer names, so no site speaks for another
 * (ERR_CERTIFICATE_SITE_MISMATCH); for the expected site when the client has one, and for this
 * client's network: one of its addresses lies inside the signed boundary (ERR_WRONG_RECIPIENT).
 */
export function acceptLocatorAnswer(
  envelope: Envelope | string | Uint8Array,
  context: LocatorAnswerContext,
): OpenedDocument<'locator-answer'> {
  const keys = new Map([...context.siteKeys].map(([keyId, certified]) => [keyId, certified.key] as const));
  const opened = openDocument('locator-answer', envelope, keys, 1, context.now, context.limits);
  const { payload } = opened;
  const signerSites = opened.envelope.signatures.flatMap((signature) => {
    const certified = context.siteKeys.get(signature.keyid);
    return certified === undefined ? [] : [certified.siteCode];
  });
  if (!signerSites.includes(payload.siteCode)) {
    throw new CertificateSiteMismatchError(
      `The locator answer names site ${payload.siteCode} but is signed by the key of site ` +
        `${signerSites.join(', ')}; a site key speaks only for its own site.`,
    );
  }
  if (context.siteCode !== undefined && payload.siteCode !== context.siteCode) {
    throw new WrongRecipientError(
      `The locator answer sends this client to site ${payload.siteCode}, but it belongs to site ${context.siteCode}.`,
    );
  }
  const reading = readNetworkBoundary(payload.boundary);
  const inside =
    'boundary' in reading &&
    context.addresses.some((text) => {
      const address = parseIpAddress(text);
      return address !== undefined && boundaryContains(reading.boundary, address);
    });
  if (!inside) {
    throw new WrongRecipientError(
      `The locator answer is for boundary ${payload.boundary} of site ${payload.siteCode}, which holds ` +
        'none of this client’s addresses; it was meant for another network.',
    );
  }
  return opened;
}
