/**
 * Management points on their own hosts (docs/scale-out.md, ADR 0005), against PostgreSQL: signed
 * assignment lists read from a replica with the primary as fallback (replica lag), two MPs signing
 * for the same client at once (C3: never two lists under one sequence), and the policy change feed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicaAssignments } from '../../../src/roles/management-point/standalone/replica-assignments.js';
import { PolicyFeedReader } from '../../../src/roles/management-point/standalone/policy-feed-reader.js';
import { appendPolicyChange } from '../../../src/site/site-systems/policy-change-feed.js';
import {
  envelopePayloadBytes,
  parseEnvelope,
  parsePayload,
  randomId,
  sha256Hex,
  SigningKey,
} from '../../../src/trust/index.js';
import { openTestPostgres, type OpenedTestDatabase } from '../../support/backends.js';
import { postgresSkipReason } from '../../support/postgres.js';

const skip = await postgresSkipReason();
let primary: OpenedTestDatabase;
/** Stands for a replica that has not replayed the registrations yet: a database without them. */
let laggingReplica: OpenedTestDatabase;
const mpA = SigningKey.generate();
const mpB = SigningKey.generate();
const certified = new Set([mpA.keyId, mpB.keyId]);

function source(key: SigningKey, name: string, replica?: OpenedTestDatabase): ReplicaAssignments {
  return new ReplicaAssignments(
    primary.db,
    replica?.db,
    { siteCode: 'RPL', mpName: name, mpKey: key },
    () => certified,
  );
}

async function registered(): Promise<string> {
  const id = sha256Hex(randomId());
  await primary.db
    .insertInto('clients')
    .values({
      id,
      public_key: `key-${id}`,
      site_code: 'RPL',
      hostname: `host-${id.slice(0, 8)}`,
      state: 'approved',
      mode: 'secure',
      root_source: 'pinned',
      registered_at: new Date(),
      last_seen_at: null,
      last_report_sequence: 0,
    })
    .execute();
  return id;
}

function sequenceOf(body: Buffer): { sequence: number; signer: string | undefined } {
  const envelope = parseEnvelope(body.toString('utf8'));
  return {
    sequence: parsePayload('policy-assignments', envelopePayloadBytes(envelope)).sequence,
    signer: envelope.signatures[0]?.keyid,
  };
}

beforeAll(async () => {
  if (skip !== undefined) return;
  primary = await openTestPostgres();
  laggingReplica = await openTestPostgres();
});

afterAll(async () => {
  if (skip !== undefined) return;
  await primary.discard();
  await laggingReplica.discard();
});

describe.skipIf(skip !== undefined)('management points on their own hosts, on PostgreSQL', () => {
  it('replica lag: a client the replica has not seen is read from the primary, not refused', async () => {
    const clientId = await registered();
    const built = await source(mpA, 'RPL-MP2', laggingReplica).build([clientId], new Date());
    const entry = built.get(clientId);
    if (entry === undefined || entry instanceof Error) throw new Error(`no list: ${String(entry)}`);
    expect(sequenceOf(entry.body)).toEqual({ sequence: 1, signer: mpA.keyId });
  });

  it('an unknown client is refused (ERR_UNKNOWN_CLIENT) even when neither database knows it', async () => {
    const unknown = sha256Hex(randomId());
    const built = await source(mpA, 'RPL-MP2', laggingReplica).build([unknown], new Date());
    expect((built.get(unknown) as { code?: string } | undefined)?.code).toBe('ERR_UNKNOWN_CLIENT');
  });

  it('C3 two MPs signing for the same client at once serve one list under one sequence', async () => {
    const clientIds = await Promise.all(Array.from({ length: 20 }, () => registered()));
    const now = new Date();
    const [fromA, fromB] = await Promise.all([
      source(mpA, 'RPL-MP2').build(clientIds, now),
      source(mpB, 'RPL-MP3').build(clientIds, now),
    ]);
    for (const clientId of clientIds) {
      const a = fromA.get(clientId);
      const b = fromB.get(clientId);
      if (a === undefined || a instanceof Error || b === undefined || b instanceof Error)
        throw new Error('a list is missing');
      // The MP that lost the race adopted the winner's list: the same bytes, the same sequence.
      expect(b.body.equals(a.body)).toBe(true);
      expect(sequenceOf(a.body).sequence).toBe(1);
      const stored = await primary.db
        .selectFrom('client_assignments')
        .select('envelope')
        .where('client_id', '=', clientId)
        .executeTakeFirstOrThrow();
      expect(stored.envelope).toBe(a.body.toString('utf8'));
    }
  });

  it('C3 a list another certified MP signed is served as stored; a changed list takes the next sequence', async () => {
    const clientId = await registered();
    const first = (await source(mpA, 'RPL-MP2').build([clientId], new Date())).get(clientId);
    const reused = (await source(mpB, 'RPL-MP3').build([clientId], new Date())).get(clientId);
    if (first === undefined || first instanceof Error || reused === undefined || reused instanceof Error)
      throw new Error('a list is missing');
    expect(reused.body.equals(first.body)).toBe(true);
    // The stored list no longer matches what the site decided: MP3 signs it again, sequence 2.
    await primary.db
      .updateTable('client_assignments')
      .set({ content_hash: '0'.repeat(64) })
      .where('client_id', '=', clientId)
      .execute();
    const changed = (await source(mpB, 'RPL-MP3').build([clientId], new Date())).get(clientId);
    if (changed === undefined || changed instanceof Error) throw new Error('no list');
    expect(sequenceOf(changed.body)).toEqual({ sequence: 2, signer: mpB.keyId });
  });

  it('the policy change feed drops exactly the clients the site named, then everyone for an `all` change', async () => {
    const dropped: (readonly string[] | 'all')[] = [];
    const reader = new PolicyFeedReader(primary.db, (ids) => dropped.push(ids), {
      intervalMs: 1000,
      onError: (error) => {
        throw error;
      },
    });
    await reader.readOnce(); // starts at the end of the feed
    await appendPolicyChange(primary.db, ['c1', 'c2']);
    await appendPolicyChange(primary.db, ['c3']);
    await reader.readOnce();
    expect(dropped).toHaveLength(1);
    expect([...(dropped[0] as readonly string[])].sort()).toEqual(['c1', 'c2', 'c3']);
    await reader.readOnce();
    expect(dropped).toHaveLength(1);
    await appendPolicyChange(primary.db, 'all');
    await reader.readOnce();
    expect(dropped.at(-1)).toBe('all');
  });
});
