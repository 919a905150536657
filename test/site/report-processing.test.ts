import { afterAll, beforeAll, expect, it } from 'vitest';
import { acceptReports } from '../../src/roles/management-point/report-intake.js';
import { createCollection } from '../../src/site/collections/collection-store.js';
import { deploymentSummary } from '../../src/site/deployments/deployment-store.js';
import { applyHeartbeat, applyInventory } from '../../src/site/inventory/inventory-store.js';
import { InboxProcessor } from '../../src/site/reports/inbox-processor.js';
import {
  markProcessed,
  pruneInbox,
  storeReports,
  unprocessedReports,
} from '../../src/site/reports/report-inbox.js';
import { SigningKey } from '../../src/trust/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';
import { addClient, addDeployment, addPackage } from '../support/site-fixture.js';
import {
  fullInventory,
  heartbeatBody,
  inventoryDelta,
  statusMessage,
  TestClient,
  type SignedReport,
} from '../support/test-pki.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const minute = 60 * 1000;

describeEachBackend('inventory store', (open) => {
  let database: OpenedTestDatabase;
  const client = new TestClient('inv-1');
  beforeAll(async () => {
    database = await open();
    await addClient(database.db, client, 'approved', now);
  });
  afterAll(async () => {
    await database.discard();
  });

  const facts = async () =>
    Object.fromEntries(
      (
        await database.db
          .selectFrom('inventory_facts')
          .select(['name', 'value', 'num'])
          .where('client_id', '=', client.id)
          .execute()
      ).map((row) => [row.name, row.num ?? row.value]),
    );
  const software = async () =>
    (
      await database.db
        .selectFrom('inventory_software')
        .select(['name', 'version', 'arch'])
        .where('client_id', '=', client.id)
        .orderBy('name')
        .execute()
    ).map((row) => `${row.name}=${row.version}/${row.arch}`);
  const resync = async () =>
    (
      await database.db
        .selectFrom('clients')
        .select('inventory_resync')
        .where('id', '=', client.id)
        .executeTakeFirstOrThrow()
    ).inventory_resync;

  it('heartbeat discovery records names, addresses and when the client was last seen', async () => {
    await applyHeartbeat(
      database.db,
      client.id,
      heartbeatBody('inv-1-renamed', { addresses: ['192.0.2.7'] }),
      now,
    );
    const discovery = await database.db
      .selectFrom('discovery')
      .selectAll()
      .where('client_id', '=', client.id)
      .executeTakeFirstOrThrow();
    expect(discovery).toMatchObject({
      hostname: 'inv-1-renamed',
      domain: 'example.test',
      addresses: ['192.0.2.7'],
    });
    const row = await database.db
      .selectFrom('clients')
      .select(['hostname', 'last_seen_at'])
      .where('id', '=', client.id)
      .executeTakeFirstOrThrow();
    expect(row.hostname).toBe('inv-1-renamed');
    expect(new Date(row.last_seen_at ?? 0).toISOString()).toBe(now.toISOString());
  });

  let baseHash: string;

  it('a full inventory replaces what the site held', async () => {
    await applyInventory(
      database.db,
      client.id,
      fullInventory({ 'os.family': 'old' }, [pkg('stale', '1')]),
      now,
    );
    const full = fullInventory({ 'os.family': 'debian', 'hw.memoryMb': 2048, 'os.version': '12' }, [
      pkg('nginx', '1.24'),
      pkg('curl', '8.0'),
    ]);
    baseHash = full.hash;
    expect(await applyInventory(database.db, client.id, full, now)).toEqual({ needsFull: false });
    expect(await facts()).toEqual({
      'os.family': 'debian',
      'hw.memoryMb': 2048,
      'os.version': 12,
      'inventory.hash': full.hash,
    });
    expect(await software()).toEqual(['curl=8.0/amd64', 'nginx=1.24/amd64']);
  });

  it('a delta on the held inventory applies its changes', async () => {
    const delta = inventoryDelta(baseHash, {
      set: { 'hw.memoryMb': 4096 },
      removed: ['os.version'],
      softwareSet: [pkg('nginx', '1.26'), pkg('vim', '9.1')],
      softwareRemoved: [{ name: 'curl', arch: 'amd64' }],
    });
    expect(await applyInventory(database.db, client.id, delta, now)).toEqual({ needsFull: false });
    expect(await facts()).toEqual({
      'os.family': 'debian',
      'hw.memoryMb': 4096,
      'inventory.hash': delta.hash,
    });
    expect(await software()).toEqual(['nginx=1.26/amd64', 'vim=9.1/amd64']);
    baseHash = delta.hash;
    const history = await database.db
      .selectFrom('inventory_history')
      .select(['full'])
      .where('client_id', '=', client.id)
      .orderBy('id')
      .execute();
    expect(history.map((h) => h.full)).toEqual([true, true, false]);
  });

  it('a delta on another base is not applied and asks for a full inventory (inventory_resync)', async () => {
    const before = { facts: await facts(), software: await software() };
    const wrong = inventoryDelta('0'.repeat(64), {
      set: { 'hw.memoryMb': 1 },
      softwareSet: [pkg('evil', '1')],
    });
    expect(await applyInventory(database.db, client.id, wrong, now)).toEqual({ needsFull: true });
    expect(await resync()).toBe(true);
    expect({ facts: await facts(), software: await software() }).toEqual(before);
    // The next full inventory clears the flag and replaces everything.
    const full = fullInventory({ 'os.family': 'debian' });
    await applyInventory(database.db, client.id, full, now);
    expect(await resync()).toBe(false);
    expect(await facts()).toEqual({ 'os.family': 'debian', 'inventory.hash': full.hash });
    expect(await software()).toEqual([]);
  });
});

function pkg(name: string, version: string) {
  return { name, version, arch: 'amd64', source: 'dpkg' };
}

describeEachBackend('report inbox', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database.discard();
  });

  const report = (messageId: string, sequence: number) => ({
    messageId,
    clientId: 'c'.repeat(64),
    reportType: 'heartbeat' as const,
    sequence,
    envelope: `{"id":"${messageId}"}`,
  });

  it('S2 stores each message id once and says which were new', async () => {
    const fresh = await storeReports(database.db, [report('a-1', 1), report('a-2', 2)], now);
    expect([...fresh].sort()).toEqual(['a-1', 'a-2']);
    const again = await storeReports(database.db, [report('a-2', 2), report('a-3', 3)], now);
    expect([...again]).toEqual(['a-3']);
    expect(await storeReports(database.db, [], now)).toEqual(new Set());
    const rows = await database.db.selectFrom('report_inbox').select('message_id').execute();
    expect(rows.map((r) => r.message_id).sort()).toEqual(['a-1', 'a-2', 'a-3']);
  });

  it('hands out unprocessed reports oldest first and forgets them once marked processed', async () => {
    await storeReports(database.db, [report('b-2', 2), report('b-1', 1)], new Date(now.getTime() + minute));
    const pending = await unprocessedReports(database.db, 10);
    expect(pending.map((r) => r.messageId)).toEqual(['a-1', 'a-2', 'a-3', 'b-1', 'b-2']);
    expect((await unprocessedReports(database.db, 2)).map((r) => r.messageId)).toEqual(['a-1', 'a-2']);
    await markProcessed(database.db, ['a-1', 'a-2', 'a-3'], now);
    await markProcessed(database.db, [], now);
    expect((await unprocessedReports(database.db, 10)).map((r) => r.messageId)).toEqual(['b-1', 'b-2']);
  });

  it('S2 prunes only processed reports older than the replay window', async () => {
    const removed = await pruneInbox(database.db, new Date(now.getTime() + 1));
    expect(removed).toBe(3);
    const left = await database.db
      .selectFrom('report_inbox')
      .select('message_id')
      .orderBy('message_id')
      .execute();
    expect(left.map((r) => r.message_id)).toEqual(['b-1', 'b-2']);
    expect(await pruneInbox(database.db, new Date(now.getTime() + 60 * minute))).toBe(0);
  });
});

describeEachBackend('inbox processor', (open) => {
  let database: OpenedTestDatabase;
  const siteKey = SigningKey.generate();
  const alice = new TestClient('alice');
  const bob = new TestClient('bob');
  let deploymentId: string;
  const changedEvents: string[][] = [];
  let processor: InboxProcessor;

  beforeAll(async () => {
    database = await open();
    await addClient(database.db, alice, 'approved');
    await addClient(database.db, bob, 'approved');
    const collection = await createCollection(
      database.db,
      { name: 'Processed', description: '', rule: null, clientIds: [alice.id, bob.id] },
      new Date(),
    );
    const { packageId } = await addPackage(database.db, siteKey, { name: 'processed-package' });
    deploymentId = (await addDeployment(database.db, siteKey, { packageId, collectionId: collection.id })).id;
    processor = new InboxProcessor(
      database,
      'ABC',
      { inventoryChanged: (ids) => changedEvents.push([...ids]) },
      { batchSize: 3, idleMs: 1000, onError: () => undefined },
    );
  });
  afterAll(async () => {
    await processor.stop();
    await database.discard();
  });

  async function intake(reports: SignedReport[]) {
    const answer = await acceptReports(
      database.db,
      'ABC',
      reports.map((r) => r.encoded),
      new Date(),
    );
    expect(answer.results.map((r) => r.status)).toEqual(reports.map(() => 'stored'));
  }

  it('S2 applies signed status reports at intake, heartbeat and inventory a batch at a time', async () => {
    const t = Date.now() - 10 * minute;
    const full = fullInventory({ 'os.family': 'debian' }, [pkg('nginx', '1.24')]);
    await intake([
      alice.heartbeat(),
      alice.inventory(full),
      alice.status([
        statusMessage('policy-received', deploymentId, new Date(t)),
        statusMessage('program-started', deploymentId, new Date(t + 1000)),
      ]),
      bob.status([statusMessage('program-failed', deploymentId, new Date(t), { exitCode: 2 })]),
    ]);
    // The status reports were applied in the intake's transaction; the processor has the other two.
    expect(await deploymentSummary(database.db, deploymentId)).toMatchObject({ running: 1, failed: 1 });
    expect(await processor.processBatch(new Date())).toBe(2);
    expect(await processor.processBatch(new Date())).toBe(0);

    expect(changedEvents.flat()).toContain(alice.id);
    const discovery = await database.db
      .selectFrom('discovery')
      .select('hostname')
      .where('client_id', '=', alice.id)
      .executeTakeFirst();
    expect(discovery?.hostname).toBe('alice');
    const fact = await database.db
      .selectFrom('inventory_facts')
      .select('value')
      .where('client_id', '=', alice.id)
      .where('name', '=', 'os.family')
      .executeTakeFirst();
    expect(fact?.value).toBe('debian');
    const statuses = await database.db
      .selectFrom('status_messages')
      .select(['client_id', 'status_id', 'machine'])
      .orderBy('id')
      .execute();
    expect(statuses).toHaveLength(3);
    expect(statuses.filter((s) => s.client_id === bob.id)).toEqual([
      { client_id: bob.id, status_id: 10006, machine: 'bob' },
    ]);
    expect(await deploymentSummary(database.db, deploymentId)).toMatchObject({
      targeted: 2,
      running: 1,
      failed: 1,
      received: 0,
    });
    const unprocessed = await database.db
      .selectFrom('report_inbox')
      .select('message_id')
      .where('processed_at', 'is', null)
      .execute();
    expect(unprocessed).toEqual([]);
  });

  it('S2 a resent report is acknowledged as a duplicate and applied only once', async () => {
    const report = bob.status([statusMessage('program-started', deploymentId, new Date())]);
    await intake([report]);
    await processor.drain();
    const before = await deploymentSummary(database.db, deploymentId);
    const again = await acceptReports(database.db, 'ABC', [report.encoded, report.encoded], new Date());
    expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate']);
    expect(await processor.drain()).toBe(0);
    const { updatedAt: _a, ...countsBefore } = before;
    const { updatedAt: _b, ...countsAfter } = await deploymentSummary(database.db, deploymentId);
    expect(countsAfter).toEqual(countsBefore);
    const rows = await database.db
      .selectFrom('status_messages')
      .select('id')
      .where('message_id', '=', `${report.messageId}:0`)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('a delta on a base the site does not hold asks for a full inventory in the next answer', async () => {
    const delta = inventoryDelta('1'.repeat(64), { set: { 'os.family': 'arch' } });
    await intake([alice.inventory(delta)]);
    await processor.drain();
    const next = await acceptReports(database.db, 'ABC', [alice.heartbeat().encoded], new Date());
    expect(next.fullInventoryRequested).toBe(true);
    const fact = await database.db
      .selectFrom('inventory_facts')
      .select('value')
      .where('client_id', '=', alice.id)
      .where('name', '=', 'os.family')
      .executeTakeFirst();
    expect(fact?.value).toBe('debian');
  });

  it('a stored report that cannot be read does not block the reports behind it', async () => {
    const errors: unknown[] = [];
    const lenient = new InboxProcessor(
      database,
      'ABC',
      { inventoryChanged: () => undefined },
      { batchSize: 10, idleMs: 1000, onError: (error) => errors.push(error) },
    );
    await storeReports(
      database.db,
      [
        {
          messageId: 'poison-1',
          clientId: alice.id,
          reportType: 'heartbeat',
          sequence: 1,
          envelope: '{"payloadType":"x","payload":"","signatures":[]}',
        },
      ],
      new Date(Date.now() - minute),
    );
    const good = alice.heartbeat({}, { uptimeSeconds: 777 });
    await intake([good]);
    await lenient.drain();
    const row = await database.db
      .selectFrom('report_inbox')
      .select('processed_at')
      .where('message_id', '=', good.messageId)
      .executeTakeFirstOrThrow();
    expect(row.processed_at).not.toBeNull();
    expect(errors.length).toBeGreaterThan(0);
    expect(await unprocessedReports(database.db, 10)).toEqual([]);
  });
});
