import { parseEnvelope, sha256Hex, signDocument, type SigningKey } from '../../trust/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { getClient } from '../../site/clients/client-store.js';
import { policyTargetsOf } from '../../site/policy/policy-targets.js';
import { ClientRevokedError, UnknownClientError } from './mp-errors.js';
import type { CachedAssignments } from './policy-cache.js';

/** How long a signed assignment list is valid (C3: an agent refuses an expired one: freeze). */
export const assignmentsValidityMs = 7 * 24 * 3600 * 1000;

export interface AssignmentSigner {
  siteCode: string;
  mpName: string;
  mpKey: SigningKey;
}

/**
 * Builds the signed assignment list of one client (C3). The sequence rises only when the content
 * changes; an unchanged list signed by this MP and far from expiry is reused as stored, so polls
 * never cause signing work. The stored row lets every MP of the site continue the same sequence.
 */
export async function buildAssignments(
  db: SiteDb,
  signer: AssignmentSigner,
  clientId: string,
  now: Date,
): Promise<CachedAssignments> {
  const client = await getClient(db, clientId);
  if (client === undefined) throw new UnknownClientError(`client ${clientId} is not registered at this site`);
  if (client.state === 'revoked') throw new ClientRevokedError(`client ${clientId} is revoked`);
  const targets = await policyTargetsOf(db, clientId, now);
  const contentHash = sha256Hex(JSON.stringify(targets));
  const stored = await db
    .selectFrom('client_assignments')
    .select(['sequence', 'envelope', 'content_hash', 'expires_at'])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  const nowMs = now.getTime();
  if (stored !== undefined && stored.content_hash === contentHash) {
    const expiresMs = new Date(stored.expires_at).getTime();
    const signedByMe = parseEnvelope(stored.envelope).signatures.some((s) => s.keyid === signer.mpKey.keyId);
    if (signedByMe && expiresMs - nowMs > assignmentsValidityMs / 2) {
      return cacheEntry(stored.envelope, stored.sequence, expiresMs);
    }
  }
  const sequence =
    stored === undefined ? 1 : stored.content_hash === contentHash ? stored.sequence : stored.sequence + 1;
  const expiresAt = new Date(nowMs + assignmentsValidityMs);
  const document = signDocument(
    {
      kind: 'policy-assignments',
      sequence,
      clientId,
      siteCode: signer.siteCode,
      mpName: signer.mpName,
      assignments: targets,
      issuedAt: now.toISOString(),
      expiresAt: expiresAt.toISOString(),
    },
    [signer.mpKey],
  );
  await db
    .insertInto('client_assignments')
    .values({
      client_id: clientId,
      sequence,
      envelope: document.encoded,
      content_hash: contentHash,
      issued_at: now,
      expires_at: expiresAt,
    })
    .onConflict((oc) =>
      oc.column('client_id').doUpdateSet({
        sequence,
        envelope: document.encoded,
        content_hash: contentHash,
        issued_at: now,
        expires_at: expiresAt,
      }),
    )
    .execute();
  return cacheEntry(document.encoded, sequence, expiresAt.getTime());
}

function cacheEntry(envelope: string, sequence: number, expiresMs: number): CachedAssignments {
  const body = Buffer.from(envelope);
  return {
    etag: `"${sequence}-${sha256Hex(body).slice(0, 16)}"`,
    body,
    refreshAt: expiresMs - assignmentsValidityMs / 2,
  };
}
