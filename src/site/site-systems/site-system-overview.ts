import { envelopePayloadBytes, fingerprintOf, parseEnvelope, parsePayload } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { listSiteSystems } from './site-systems.js';
import { contentStateCounts } from './site-system-status.js';

/**
 * The site systems as `steward site status` shows them (docs/scale-out.md): role, name, URLs,
 * embedded or on its own host, health and when it was last seen, the key's fingerprint, when the
 * MP certificate expires, and a distribution point's content counts.
 */
export async function describeSiteSystems(db: SiteDb) {
  const content = await contentStateCounts(db);
  return (await listSiteSystems(db)).map((s) => ({
    name: s.name,
    role: s.role,
    urls: s.urls,
    embedded: s.embedded,
    health: s.health,
    detail: s.detail,
    keyFingerprint: s.key_id === null ? null : fingerprintOf(s.key_id),
    certificateExpiresAt: certificateExpiry(s.certificate),
    tls: s.tls_certificate !== null,
    lastSeenAt: s.last_seen_at,
    content: s.role === 'distribution-point' && !s.embedded ? (content.get(s.id) ?? null) : null,
  }));
}

function certificateExpiry(envelope: string | null): string | null {
  if (envelope === null || envelope === '') return null;
  try {
    return parsePayload('mp-certificate', envelopePayloadBytes(parseEnvelope(envelope))).expiresAt;
  } catch {
    return null;
  }
}
