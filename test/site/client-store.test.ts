import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  countClientsByState,
  getClient,
  listClients,
  registerClient,
  setClientState,
} from '../../src/site/clients/client-store.js';
import { consumeEnrolmentToken, createEnrolmentToken } from '../../src/site/clients/enrolment-tokens.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';
import { addClient, discardWhenClosed } from '../support/site-fixture.js';
import { TestClient } from '../support/test-pki.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const later = new Date('2026-03-01T13:00:00.000Z');

function registration(
  client: TestClient,
  state: 'pending' | 'approved',
  at = now,
  hostname = client.hostname,
) {
  return {
    id: client.id,
    publicKey: client.key.publicRecord().publicKey,
    siteCode: 'ABC',
    hostname,
    mode: 'secure' as const,
    rootSource: 'pinned' as const,
    registeredAt: at,
    state,
    approvedBy: state === 'approved' ? 'enrolment token' : null,
  };
}

describeEachBackend('client store', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database.discard();
  });

  it('S1 registers a pending client and reads it back', async () => {
    const client = new TestClient('ws-pending');
    const stored = await registerClient(database.db, registration(client, 'pending'));
    expect(stored).toMatchObject({
      id: client.id,
      hostname: 'ws-pending',
      state: 'pending',
      approvedAt: null,
      revokedAt: null,
    });
    expect(stored.registeredAt.toISOString()).toBe(now.toISOString());
    expect(await getClient(database.db, client.id)).toEqual(stored);
    expect(await getClient(database.db, 'f'.repeat(64))).toBeUndefined();
  });

  it('S1 a client registered with a valid token is approved at once', async () => {
    const client = new TestClient('ws-token');
    const stored = await registerClient(database.db, registration(client, 'approved'));
    expect(stored.state).toBe('approved');
    expect(stored.approvedAt?.toISOString()).toBe(now.toISOString());
  });

  it('S1 re-registering keeps the state and updates the host name; a token approves a pending client', async () => {
    const client = new TestClient('ws-again');
    await registerClient(database.db, registration(client, 'pending'));
    const again = await registerClient(database.db, registration(client, 'pending', later, 'ws-renamed'));
    expect(again.state).toBe('pending');
    expect(again.hostname).toBe('ws-renamed');
    expect(again.registeredAt.toISOString()).toBe(now.toISOString());
    const approved = await registerClient(database.db, registration(client, 'approved', later));
    expect(approved.state).toBe('approved');
    expect(approved.approvedAt?.toISOString()).toBe(later.toISOString());
  });

  it('S1 re-registering never lifts a revocation, not even with a valid token', async () => {
    const client = new TestClient('ws-revoked');
    await registerClient(database.db, registration(client, 'approved'));
    const revoked = await setClientState(database.db, client.id, 'revoked', 'admin', later);
    expect(revoked?.state).toBe('revoked');
    expect(revoked?.revokedAt?.toISOString()).toBe(later.toISOString());
    const again = await registerClient(database.db, registration(client, 'approved', later));
    expect(again.state).toBe('revoked');
    expect(again.revokedAt?.toISOString()).toBe(later.toISOString());
  });

  it('S1 approving moves pending to approved; a revoked client is never approved again', async () => {
    const client = new TestClient('ws-approve');
    await registerClient(database.db, registration(client, 'pending'));
    const approved = await setClientState(database.db, client.id, 'approved', 'admin', later);
    expect(approved).toMatchObject({ state: 'approved' });
    expect(approved?.approvedAt?.toISOString()).toBe(later.toISOString());
    await setClientState(database.db, client.id, 'revoked', 'admin', later);
    const again = await setClientState(database.db, client.id, 'approved', 'admin', later);
    expect(again?.state).toBe('revoked');
    expect(await setClientState(database.db, 'e'.repeat(64), 'approved', 'admin', later)).toBeUndefined();
  });

  it('lists clients in id order, page by page, with a state filter', async () => {
    const clients = Array.from({ length: 7 }, (_, i) => new TestClient(`page-${i}`));
    for (const [index, client] of clients.entries()) {
      await addClient(database.db, client, index % 2 === 0 ? 'approved' : 'pending', now);
    }
    const ours = new Set(clients.map((c) => c.id));
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 100; page += 1) {
      const items = await listClients(database.db, { search: 'page-', limit: 3, after });
      expect(items.length).toBeLessThanOrEqual(3);
      seen.push(...items.map((c) => c.id));
      if (items.length < 3) break;
      after = items.at(-1)?.id;
    }
    expect(seen).toEqual([...ours].sort());
    const pending = await listClients(database.db, { search: 'page-', state: 'pending', limit: 100 });
    expect(pending.map((c) => c.hostname).sort()).toEqual(['page-1', 'page-3', 'page-5']);
  });

  it('searches host names case-insensitively and treats % and _ as literal characters', async () => {
    const plain = new TestClient('lab-ab1');
    const percent = new TestClient('lab-a%b');
    const underscore = new TestClient('lab-a_b');
    const backslash = new TestClient('lab-a\\b');
    for (const client of [plain, percent, underscore, backslash])
      await addClient(database.db, client, 'pending');
    const hostnames = async (search: string) =>
      (await listClients(database.db, { search, limit: 100 })).map((c) => c.hostname).sort();
    expect(await hostnames('LAB-A%B')).toEqual(['lab-a%b']);
    expect(await hostnames('a_b')).toEqual(['lab-a_b']);
    expect(await hostnames('a\\b')).toEqual(['lab-a\\b']);
    expect(await hostnames('lab-a')).toEqual(['lab-a%b', 'lab-a\\b', 'lab-a_b', 'lab-ab1']);
    expect(await hostnames('%')).toEqual(['lab-a%b']);
    // An id prefix finds the client too.
    expect(
      (await listClients(database.db, { search: plain.id.slice(0, 20), limit: 10 })).map((c) => c.id),
    ).toEqual([plain.id]);
  });

  it('counts clients by state', async () => {
    const counts = await countClientsByState(database.db);
    const rows = await database.db.selectFrom('clients').select('state').execute();
    expect(counts).toEqual({
      pending: rows.filter((r) => r.state === 'pending').length,
      approved: rows.filter((r) => r.state === 'approved').length,
      revoked: rows.filter((r) => r.state === 'revoked').length,
    });
    expect(counts.revoked).toBeGreaterThan(0);
  });
});

describeEachBackend('enrolment tokens', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await discardWhenClosed(database);
  });

  it('S1 a token works as many times as it has uses, then no more', async () => {
    const token = await createEnrolmentToken(database.db, {
      description: 'two uses',
      uses: 2,
      expiresAt: later,
      now,
    });
    expect(token.token).toMatch(/^enr_/);
    expect(await consumeEnrolmentToken(database.db, token.token, now)).toBe(true);
    expect(await consumeEnrolmentToken(database.db, token.token, now)).toBe(true);
    expect(await consumeEnrolmentToken(database.db, token.token, now)).toBe(false);
    const row = await database.db
      .selectFrom('enrolment_tokens')
      .select('uses_left')
      .where('id', '=', token.id)
      .executeTakeFirstOrThrow();
    expect(row.uses_left).toBe(0);
  });

  it('S1 an expired token is refused and keeps its uses', async () => {
    const token = await createEnrolmentToken(database.db, {
      description: '',
      uses: 5,
      expiresAt: later,
      now,
    });
    expect(await consumeEnrolmentToken(database.db, token.token, later)).toBe(false);
    expect(await consumeEnrolmentToken(database.db, token.token, new Date(later.getTime() + 1))).toBe(false);
    expect(await consumeEnrolmentToken(database.db, token.token, new Date(later.getTime() - 1))).toBe(true);
  });

  it('S1 a wrong or malformed token is refused and uses nothing', async () => {
    const token = await createEnrolmentToken(database.db, {
      description: '',
      uses: 1,
      expiresAt: later,
      now,
    });
    expect(await consumeEnrolmentToken(database.db, `${token.token}x`, now)).toBe(false);
    expect(await consumeEnrolmentToken(database.db, token.token.slice(4), now)).toBe(false);
    expect(await consumeEnrolmentToken(database.db, `enr_${'a'.repeat(200)}`, now)).toBe(false);
    expect(await consumeEnrolmentToken(database.db, '', now)).toBe(false);
    // Only the hash is stored.
    const stored = await database.db.selectFrom('enrolment_tokens').selectAll().execute();
    expect(JSON.stringify(stored)).not.toContain(token.token);
    expect(await consumeEnrolmentToken(database.db, token.token, now)).toBe(true);
  });

  it('S1 concurrent uses of a one-use token succeed once', async () => {
    const token = await createEnrolmentToken(database.db, {
      description: '',
      uses: 1,
      expiresAt: later,
      now,
    });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => consumeEnrolmentToken(database.db, token.token, now)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
