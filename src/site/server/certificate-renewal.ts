import { envelopePayloadBytes, parseEnvelope, parsePayload, type SigningKey } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { currentCertificate } from '../hierarchy/trust-store.js';
import { certifyManagementPointKey } from '../site-systems/mp-certificates.js';
import { renewWhenRemaining, validityDays } from '../init/validity.js';

/**
 * Renews the embedded management point's certificate when its URLs changed (the site now listens
 * elsewhere) or when less than a quarter of its validity is left. Needs the root key: a site whose
 * root key is offline logs that renewal is due instead.
 */
export async function renewMpCertificateIfDue(
  db: SiteDb,
  input: {
    siteCode: string;
    mpName: string;
    mpKey: SigningKey;
    urls: readonly string[];
    rootKeys: readonly SigningKey[];
  },
  now: Date,
): Promise<'renewed' | 'current' | 'due-but-no-root-key'> {
  const current = await currentCertificate(db, 'mp-certificate', input.mpName);
  const currentUrls = current === undefined ? [] : certificateUrls(current.envelope);
  const remaining = current === undefined ? 0 : current.expiresAt.getTime() - now.getTime();
  const due =
    current === undefined ||
    current.keyId !== input.mpKey.keyId ||
    remaining < validityDays.mp * 24 * 3600 * 1000 * renewWhenRemaining ||
    currentUrls.join(' ') !== input.urls.join(' ');
  if (!due) return 'current';
  if (input.rootKeys.length === 0) return 'due-but-no-root-key';
  await certifyManagementPointKey(
    db,
    {
      siteCode: input.siteCode,
      mpName: input.mpName,
      urls: input.urls,
      mpKey: input.mpKey.publicRecord(),
      rootKeys: input.rootKeys,
      revokePrevious: false,
    },
    now,
  );
  return 'renewed';
}

function certificateUrls(envelope: string): string[] {
  return parsePayload('mp-certificate', envelopePayloadBytes(parseEnvelope(envelope))).urls;
}
