import { parseEnvelope, sha256Hex, signDocument, type SigningKey } from '../../trust/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { chunks } from '../../site/inventory/inventory-store.js';
import { policyTargetsOfMany, type PolicyTarget } from '../../site/policy/policy-targets.js';
import { certifiedManagementPoints } from '../../site/site-systems/management-points.js';
import { ClientRevokedError, UnknownClientError } from './mp-errors.js';
import type { CachedAssignments } from './policy-cache.js';

/** How long a signed assignment list is valid (C3: an agent refuses an expired one: freeze). */
export const assignmentsValidityMs = 7 * 24 * 3600 * 1000;

export interface AssignmentSigner {
  siteCode: string;
  mpName: string;
  mpKey: SigningKey;
}

/** A client's stored assignment list (the last one signed for it). */
export interface StoredList {
  sequence: number;
  envelope: string;
  content_hash: string;
  expires_at: Date;
}

/** What signing clients' lists reads: their states, stored lists, and the targets of live ones. */
export interface AssignmentInputs {
  states: Map<string, string>;
  stored: Map<string, StoredList>;
  targets: Map<string, PolicyTarget[]>;
}

/** Reads the inputs of `clientIds` from one database (the primary, or a replica). */
export async function readAssignmentInputs(
  db: SiteDb,
  clientIds: readonly string[],
  now: Date,
): Promise<AssignmentInputs> {
  const states = new Map<string, string>();
  const stored = new Map<string, StoredList>();
  for (const chunk of chunks(clientIds, 1000)) {
    for (const row of await db
      .selectFrom('clients')
      .select(['id', 'state'])
      .where('id', 'in', chunk)
      .execute()) {
      states.set(row.id, row.state);
    }
    const rows = await db
      .selectFrom('client_assignments')
      .select(['client_id', 'sequence', 'envelope', 'content_hash', 'expires_at'])
      .where('client_id', 'in', chunk)
      .execute();
    for (const row of rows) stored.set(row.client_id, { ...row, expires_at: new Date(row.expires_at) });
  }
  const live = clientIds.filter((id) => {
    const state = states.get(id);
    return state !== undefined && state !== 'revoked';
  });
  return { states, stored, targets: await policyTargetsOfMany(db, live, now) };
}

/**
 * Builds the signed assignment lists of clients (C3), many at a time. An unchanged list signed by a
 * certified MP of the site and far from expiry is reused as stored, so polls never cause signing
 * work and a deployment to N clients costs N signatures and a handful of queries; each new
 * signature takes the next sequence. The stored rows let every MP of the site continue the same
 * sequences.
 */
export async function buildAssignmentsFor(
  db: SiteDb,
  signer: AssignmentSigner,
  clientIds: readonly string[],
  now: Date,
): Promise<Map<string, CachedAssignments | UnknownClientError | ClientRevokedError>> {
  const result = new Map<string, CachedAssignments | UnknownClientError | ClientRevokedError>();
  const { states, stored, targets } = await readAssignmentInputs(db, clientIds, now);
  const live = clientIds.filter((id) => {
    const state = states.get(id);
    if (state === undefined)
      result.set(id, new UnknownClientError(`client ${id} is not registered at this site`));
    else if (state === 'revoked') result.set(id, new ClientRevokedError(`client ${id} is revoked`));
    return state !== undefined && state !== 'revoked';
  });
  const nowMs = now.getTime();
  const expiresAt = new Date(nowMs + assignmentsValidityMs);
  const writes: {
    client_id: string;
    sequence: number;
    envelope: string;
    content_hash: string;
    issued_at: Date;
    expires_at: Date;
  }[] = [];
  // Lists signed by another certified MP of the site are served as they are (agents accept any of
  // them, C3): an agent failing over between MPs then sees the very same list (docs/scale-out.md).
  let certified: Set<string> | undefined;
  const signedByCertified = async (envelope: string): Promise<boolean> => {
    const signers = parseEnvelope(envelope).signatures.map((s) => s.keyid);
    if (signers.includes(signer.mpKey.keyId)) return true;
    certified ??= new Set(
      (await certifiedManagementPoints(db, signer.siteCode, now)).map((mp) => mp.key.keyId),
    );
    return signers.some((keyId) => certified?.has(keyId) === true);
  };
  for (const clientId of live) {
    const list = targets.get(clientId) ?? [];
    const contentHash = sha256Hex(JSON.stringify(list));
    const previous = stored.get(clientId);
    if (
      previous !== undefined &&
      previous.content_hash === contentHash &&
      previous.expires_at.getTime() - nowMs > assignmentsValidityMs / 2 &&
      (await signedByCertified(previous.envelope))
    ) {
      result.set(clientId, cacheEntry(previous.envelope, previous.sequence, previous.expires_at.getTime()));
      continue;
    }
    // A new signature always takes a new sequence: an agent refuses a second, different list under
    // a sequence it accepted (re-signed before expiry, or by another MP), so the sequence rises.
    const sequence = previous === undefined ? 1 : previous.sequence + 1;
    const document = signDocument(
      {
        kind: 'policy-assignments',
        sequence,
        clientId,
        siteCode: signer.siteCode,
        mpName: signer.mpName,
        assignments: list,
        issuedAt: now.toISOString(),
        expiresAt: expiresAt.toISOString(),
      },
      [signer.mpKey],
    );
    writes.push({
      client_id: clientId,
      sequence,
      envelope: document.encoded,
      content_hash: contentHash,
      issued_at: now,
      expires_at: expiresAt,
    });
    result.set(clientId, cacheEntry(document.encoded, sequence, expiresAt.getTime()));
  }
  for (const chunk of chunks(writes, 500)) {
    await db
      .insertInto('client_assignments')
      .values(chunk)
      .onConflict((oc) =>
        oc.column('client_id').doUpdateSet((eb) => ({
          sequence: eb.ref('excluded.sequence'),
          envelope: eb.ref('excluded.envelope'),
          content_hash: eb.ref('excluded.content_hash'),
          issued_at: eb.ref('excluded.issued_at'),
          expires_at: eb.ref('excluded.expires_at'),
        })),
      )
      .execute();
  }
  return result;
}

/** One client's list; throws ERR_UNKNOWN_CLIENT or ERR_CLIENT_REVOKED. */
export async function buildAssignments(
  db: SiteDb,
  signer: AssignmentSigner,
  clientId: string,
  now: Date,
): Promise<CachedAssignments> {
  const entry = (await buildAssignmentsFor(db, signer, [clientId], now)).get(clientId);
  if (entry === undefined) throw new UnknownClientError(`client ${clientId} is not registered at this site`);
  if (entry instanceof Error) throw entry;
  return entry;
}

function cacheEntry(envelope: string, sequence: number, expiresMs: number): CachedAssignments {
  const body = Buffer.from(envelope);
  return {
    etag: `"${sequence}-${sha256Hex(body).slice(0, 16)}"`,
    body,
    refreshAt: expiresMs - assignmentsValidityMs / 2,
  };
}
