import { parseEnvelope, sha256Hex, signDocument } from '../../../trust/index.js';
import { isDatabaseUnavailable } from '../../../site/database/database-unavailable.js';
import type { SiteDb } from '../../../site/database/site-db.js';
import { DatabaseError } from '../../../site/site-errors.js';
import { chunks } from '../../../site/inventory/inventory-store.js';
import type { PolicyTarget } from '../../../site/policy/policy-targets.js';
import {
  assignmentsValidityMs,
  readAssignmentInputs,
  type AssignmentInputs,
  type AssignmentSigner,
  type StoredList,
} from '../assignments.js';
import type { AssignmentSource } from '../management-point.js';
import { ClientRevokedError, UnknownClientError } from '../mp-errors.js';
import type { CachedAssignments } from '../policy-cache.js';

/** Attempts at signing a list before a client is left for its next poll (concurrent MPs). */
const maxAttempts = 3;

/**
 * Signed assignment lists for a management point on its own host (docs/scale-out.md, ADR 0005).
 * It reads client state, stored lists and policy targets from the replica (the primary when there
 * is none, or when the replica cannot be reached), and the primary for a client the replica has
 * not seen yet, so replica lag never refuses a client that just registered. A stored list signed by
 * any certified MP of the site, with the same content and far from expiry, is served as it is: every
 * MP then serves the same bytes, and an agent that fails over sees no change. Otherwise the list is
 * signed with the next sequence and written to the primary only if no MP wrote that sequence or a
 * later one first (a conditional upsert); the loser adopts the winner's list, or signs again from
 * what the primary holds, so no two lists ever share a sequence.
 */
export class ReplicaAssignments implements AssignmentSource {
  constructor(
    private readonly primary: SiteDb,
    private readonly replica: SiteDb | undefined,
    private readonly signer: AssignmentSigner,
    /** Key ids of the site's certified MPs (this one included), as the MP's trust bundle names them. */
    private readonly certifiedKeyIds: () => ReadonlySet<string>,
  ) {}

  async build(clientIds: readonly string[], now: Date): Promise<Map<string, CachedAssignments | Error>> {
    const result = new Map<string, CachedAssignments | Error>();
    let inputs = await this.#readReplica(clientIds, now);
    let pending = [...clientIds];
    for (let attempt = 1; pending.length > 0 && attempt <= maxAttempts; attempt += 1) {
      const toSign: { clientId: string; list: PolicyTarget[]; contentHash: string; sequence: number }[] = [];
      for (const clientId of pending) {
        const state = inputs.states.get(clientId);
        if (state === undefined) {
          result.set(clientId, new UnknownClientError(`client ${clientId} is not registered at this site`));
          continue;
        }
        if (state === 'revoked') {
          result.set(clientId, new ClientRevokedError(`client ${clientId} is revoked`));
          continue;
        }
        const list = inputs.targets.get(clientId) ?? [];
        const contentHash = sha256Hex(JSON.stringify(list));
        const previous = inputs.stored.get(clientId);
        if (previous !== undefined && this.#reusable(previous, contentHash, now)) {
          result.set(clientId, cacheEntry(previous));
          continue;
        }
        toSign.push({ clientId, list, contentHash, sequence: (previous?.sequence ?? 0) + 1 });
      }
      const lost = await this.#signAndStore(toSign, now, result);
      pending = lost;
      // The primary holds a list another MP wrote meanwhile: decide again from the primary alone.
      if (pending.length > 0) inputs = await readAssignmentInputs(this.primary, pending, now);
    }
    for (const clientId of pending) {
      result.set(
        clientId,
        new DatabaseError(`client ${clientId}: other management points are writing its list; poll again`),
      );
    }
    return result;
  }

  #reusable(stored: StoredList, contentHash: string, now: Date): boolean {
    if (stored.content_hash !== contentHash) return false;
    if (stored.expires_at.getTime() - now.getTime() <= assignmentsValidityMs / 2) return false;
    const certified = this.certifiedKeyIds();
    return parseEnvelope(stored.envelope).signatures.some((s) => certified.has(s.keyid));
  }

  /** Replica first; the primary for what it lacks (lag) or when it cannot be reached. */
  async #readReplica(clientIds: readonly string[], now: Date): Promise<AssignmentInputs> {
    if (this.replica === undefined) return readAssignmentInputs(this.primary, clientIds, now);
    let inputs: AssignmentInputs;
    try {
      inputs = await readAssignmentInputs(this.replica, clientIds, now);
    } catch (error) {
      if (!isDatabaseUnavailable(error)) throw error;
      return readAssignmentInputs(this.primary, clientIds, now);
    }
    const unseen = clientIds.filter((id) => !inputs.states.has(id));
    if (unseen.length > 0) {
      try {
        const fresh = await readAssignmentInputs(this.primary, unseen, now);
        for (const [id, state] of fresh.states) inputs.states.set(id, state);
        for (const [id, stored] of fresh.stored) inputs.stored.set(id, stored);
        for (const [id, targets] of fresh.targets) inputs.targets.set(id, targets);
      } catch (error) {
        // One client (a single poll) needs the answer; a batch leaves those clients for their poll.
        if (clientIds.length === 1 || !isDatabaseUnavailable(error)) throw error;
      }
    }
    return inputs;
  }

  /** Signs and writes; returns the clients whose sequence another MP took first. */
  async #signAndStore(
    toSign: readonly { clientId: string; list: PolicyTarget[]; contentHash: string; sequence: number }[],
    now: Date,
    result: Map<string, CachedAssignments | Error>,
  ): Promise<string[]> {
    if (toSign.length === 0) return [];
    const expiresAt = new Date(now.getTime() + assignmentsValidityMs);
    const rows = toSign.map((item) => ({
      client_id: item.clientId,
      sequence: item.sequence,
      envelope: signDocument(
        {
          kind: 'policy-assignments',
          sequence: item.sequence,
          clientId: item.clientId,
          siteCode: this.signer.siteCode,
          mpName: this.signer.mpName,
          assignments: item.list,
          issuedAt: now.toISOString(),
          expiresAt: expiresAt.toISOString(),
        },
        [this.signer.mpKey],
      ).encoded,
      content_hash: item.contentHash,
      issued_at: now,
      expires_at: expiresAt,
    }));
    const written = new Set<string>();
    for (const chunk of chunks(rows, 500)) {
      const stored = await this.primary
        .insertInto('client_assignments')
        .values(chunk)
        .onConflict((oc) =>
          oc
            .column('client_id')
            .doUpdateSet((eb) => ({
              sequence: eb.ref('excluded.sequence'),
              envelope: eb.ref('excluded.envelope'),
              content_hash: eb.ref('excluded.content_hash'),
              issued_at: eb.ref('excluded.issued_at'),
              expires_at: eb.ref('excluded.expires_at'),
            }))
            .where('client_assignments.sequence', '<', (eb) => eb.ref('excluded.sequence')),
        )
        .returning('client_id')
        .execute();
      for (const row of stored) written.add(row.client_id);
    }
    const lost: string[] = [];
    for (const row of rows) {
      if (!written.has(row.client_id)) {
        lost.push(row.client_id);
        continue;
      }
      result.set(row.client_id, cacheEntry({ ...row, expires_at: row.expires_at }));
    }
    return lost;
  }
}

function cacheEntry(list: { envelope: string; sequence: number; expires_at: Date }): CachedAssignments {
  const body = Buffer.from(list.envelope);
  return {
    etag: `"${list.sequence}-${sha256Hex(body).slice(0, 16)}"`,
    body,
    refreshAt: list.expires_at.getTime() - assignmentsValidityMs / 2,
  };
}
