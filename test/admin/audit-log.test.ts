import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appendAudit,
  assertAuditChain,
  auditEntryHash,
  canonicalJson,
  genesisHash,
  listAudit,
  verifyAuditChain,
  type AuditRecord,
} from '../../src/admin/audit-log/index.js';
import { createAccount, inTransaction } from '../../src/admin/identity/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';

const record = (n: number): AuditRecord => ({
  actor: 'alice',
  action: 'package.modify',
  objectClass: 'package',
  objectId: `P${n}`,
  details: { n, note: `change ${n}` },
});

/** An attacker who owns the table can switch the append-only trigger off; tests do the same. */
async function asTableOwner(database: OpenedTestDatabase, statement: ReturnType<typeof sql>): Promise<void> {
  await sql`alter table audit_log disable trigger audit_log_no_update`.execute(database.db);
  await statement.execute(database.db);
  await sql`alter table audit_log enable trigger audit_log_no_update`.execute(database.db);
}

describeEachBackend('hash-chained audit log', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database.discard();
  });
  // One database per suite; each test starts from an empty log. Test-only reset, with the user
  // triggers off so that it keeps working if the schema later refuses TRUNCATE too.
  beforeEach(async () => {
    await sql`alter table audit_log disable trigger user`.execute(database.db);
    await sql`truncate audit_log`.execute(database.db);
    await sql`alter table audit_log enable trigger user`.execute(database.db);
  });

  it('an empty log verifies with the genesis head', async () => {
    expect(await verifyAuditChain(database.db)).toEqual({ ok: true, entries: 0, head: genesisHash });
  });

  it('200 appends form one chain that verifies, and the head is the last hash', async () => {
    let last = '';
    for (let n = 1; n <= 200; n += 1) {
      const entry = await appendAudit(database.db, record(n), new Date(Date.UTC(2030, 0, 1, 0, 0, n)));
      expect(entry.seq).toBe(n);
      last = entry.hash;
    }
    expect(await verifyAuditChain(database.db)).toEqual({ ok: true, entries: 200, head: last });
    const first = (await listAudit(database.db, { limit: 1 }))[0]!;
    expect(first.prevHash).toBe(genesisHash);
    expect(first.hash).toBe(
      auditEntryHash(genesisHash, { ...first, at: new Date(Date.UTC(2030, 0, 1, 0, 0, 1)) }),
    );
  });

  it('concurrent appends (50 at once over the connection pool) still form one chain', async () => {
    const entries = await Promise.all(
      Array.from({ length: 50 }, (_, n) => appendAudit(database.db, record(n))),
    );
    expect(entries.map((entry) => entry.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, n) => n + 1),
    );
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, entries: 50 });
  });

  it('an append inside the caller transaction commits or rolls back with the change', async () => {
    await inTransaction(database.db, async (trx) => {
      const account = await createAccount(trx, { name: `admin-${Date.now()}` });
      await appendAudit(trx, {
        ...record(1),
        action: 'account.create',
        objectClass: 'account',
        objectId: account.id,
      });
    });
    await expect(
      inTransaction(database.db, async (trx) => {
        await appendAudit(trx, record(2));
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    const entries = await listAudit(database.db, { limit: 10 });
    expect(entries.map((entry) => entry.action)).toEqual(['account.create']);
  });

  it('detects a changed entry (trigger disabled as a table owner could) at that entry', async () => {
    for (let n = 1; n <= 10; n += 1) await appendAudit(database.db, record(n));
    await asTableOwner(
      database,
      sql`update audit_log set details = '{"n": 4, "note": "nothing to see"}' where seq = 4`,
    );
    expect(await verifyAuditChain(database.db)).toEqual({
      ok: false,
      entries: 3,
      brokenAt: 4,
      reason: 'entry 4 was changed: its contents do not match its hash',
    });
    await expect(assertAuditChain(database.db)).rejects.toMatchObject({
      code: 'ERR_AUDIT_CHAIN_BROKEN',
      brokenAt: 4,
    });
  });

  it('detects a changed entry whose hash was recomputed, at the next entry', async () => {
    for (let n = 1; n <= 5; n += 1) await appendAudit(database.db, record(n));
    const [entry] = await listAudit(database.db, { afterSeq: 1, limit: 1 });
    const forged = { ...entry!, actor: 'mallory' };
    const hash = auditEntryHash(forged.prevHash, forged);
    await asTableOwner(database, sql`update audit_log set actor = 'mallory', hash = ${hash} where seq = 2`);
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: false, entries: 2, brokenAt: 3 });
  });

  it('detects an entry deleted from the middle, at the missing seq', async () => {
    for (let n = 1; n <= 10; n += 1) await appendAudit(database.db, record(n));
    await asTableOwner(database, sql`delete from audit_log where seq = 6`);
    expect(await verifyAuditChain(database.db)).toEqual({
      ok: false,
      entries: 5,
      brokenAt: 6,
      reason: 'entry 6 is missing: the log goes from seq 5 to 7',
    });
  });

  it('a truncated tail is NOT detectable from the chain alone: only a recorded head hash reveals it', async () => {
    // The remaining entries still form a valid chain. This is why operators record `head` (and the
    // entry count) outside the database and compare it with a later verification.
    for (let n = 1; n <= 10; n += 1) await appendAudit(database.db, record(n));
    const recorded = await verifyAuditChain(database.db);
    await asTableOwner(database, sql`delete from audit_log where seq > 7`);
    const after = await verifyAuditChain(database.db);
    expect(after).toMatchObject({ ok: true, entries: 7 });
    expect(after.ok && recorded.ok && after.head !== recorded.head).toBe(true);
  });

  it('verifies across page boundaries (more than 1000 entries)', async () => {
    const rows = [];
    let prevHash = genesisHash;
    const at = new Date('2030-01-01T00:00:00Z');
    for (let seq = 1; seq <= 2100; seq += 1) {
      const fields = {
        seq,
        at,
        actor: 'bulk',
        action: 'x',
        objectClass: 'site',
        objectId: 'S',
        details: { seq },
      };
      const hash = auditEntryHash(prevHash, fields);
      rows.push({
        ...fields,
        object_class: 'site',
        object_id: 'S',
        details: JSON.stringify({ seq }),
        prev_hash: prevHash,
        hash,
      });
      prevHash = hash;
    }
    for (let start = 0; start < rows.length; start += 500) {
      await database.db
        .insertInto('audit_log')
        .values(
          rows
            .slice(start, start + 500)
            .map(({ seq, at: when, actor, action, object_class, object_id, details, prev_hash, hash }) => ({
              seq,
              at: when,
              actor,
              action,
              object_class,
              object_id,
              details,
              prev_hash,
              hash,
            })),
        )
        .execute();
    }
    expect(await verifyAuditChain(database.db)).toEqual({ ok: true, entries: 2100, head: prevHash });
    await asTableOwner(database, sql`update audit_log set actor = 'mallory' where seq = 1500`);
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: false, brokenAt: 1500 });
  });

  it('any JSON details survive the jsonb round trip with a verifying hash', async () => {
    const details = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
    await fc.assert(
      fc.asyncProperty(details, async (value) => {
        await appendAudit(database.db, { ...record(0), details: value });
      }),
      { numRuns: 25 },
    );
    expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true, entries: 25 });
  });

  it('refuses details jsonb cannot store and pages with afterSeq', async () => {
    await expect(
      appendAudit(database.db, { ...record(1), details: { bad: 'a\u0000b' } }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_REQUEST',
    });
    await appendAudit(database.db, { ...record(1), details: { fine: 'a\\u0000b' } });
    for (let n = 2; n <= 5; n += 1) await appendAudit(database.db, record(n));
    expect((await listAudit(database.db, { afterSeq: 3, limit: 10 })).map((entry) => entry.seq)).toEqual([
      4, 5,
    ]);
    await expect(listAudit(database.db, { limit: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST' });
  });
});

describe('canonical JSON for audit hashes', () => {
  it('is JSON that parses back to the value, whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        const reordered: unknown = JSON.parse(JSON.stringify(value), (_key, v: unknown) =>
          typeof v === 'object' && v !== null && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
        );
        expect(canonicalJson(reordered)).toBe(text);
      }),
    );
  });

  it('sorts keys and writes no whitespace (known answer)', () => {
    expect(canonicalJson({ b: [1, { d: true, c: null }], a: 'x y' })).toBe(
      '{"a":"x y","b":[1,{"c":null,"d":true}]}',
    );
  });

  it('refuses values that are not JSON', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalJson({ a: new Date(0) })).toThrow(TypeError);
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});
