import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCollection } from '../../src/site/collections/collection-store.js';
import { deploymentClientStates, deploymentSummary } from '../../src/site/deployments/deployment-store.js';
import { applyStatusMessages, type IncomingStatus } from '../../src/site/status/status-store.js';
import { randomId, SigningKey } from '../../src/trust/index.js';
import type { StatusName } from '../../src/protocol/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';
import { addClient, addDeployment, addPackage } from '../support/site-fixture.js';
import { statusMessage, TestClient } from '../support/test-pki.js';

const base = Date.parse('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(base + seconds * 1000);
const received = new Date('2026-03-01T11:00:00.000Z');

describeEachBackend('status store', (open) => {
  let database: OpenedTestDatabase;
  const siteKey = SigningKey.generate();
  const clients = Array.from({ length: 6 }, (_, i) => new TestClient(`status-${i}`));
  let deploymentId: string;

  beforeAll(async () => {
    database = await open();
    for (const client of clients) await addClient(database.db, client, 'approved');
    const collection = await createCollection(
      database.db,
      { name: 'Status', description: '', rule: null, clientIds: clients.map((c) => c.id) },
      at(0),
    );
    const { packageId } = await addPackage(database.db, siteKey, { name: 'status-package' }, at(0));
    deploymentId = (
      await addDeployment(database.db, siteKey, { packageId, collectionId: collection.id }, at(0))
    ).id;
  });
  afterAll(async () => {
    await database.discard();
  });

  function incoming(
    client: TestClient,
    name: StatusName,
    occurredAt: Date | string,
    options: { messageId?: string; deploymentId?: string | null; exitCode?: number } = {},
  ): IncomingStatus {
    return {
      messageId: options.messageId ?? `m-${randomId().slice(0, 16)}:0`,
      clientId: client.id,
      machine: client.hostname,
      message: statusMessage(
        name,
        options.deploymentId === undefined ? deploymentId : options.deploymentId,
        occurredAt,
        options.exitCode === undefined ? {} : { exitCode: options.exitCode },
      ),
    };
  }

  const apply = (items: IncomingStatus[]) => applyStatusMessages(database.db, 'ABC', items, received);
  const summary = async () => {
    const { updatedAt: _updatedAt, ...counts } = await deploymentSummary(database.db, deploymentId);
    return counts;
  };
  const stateOf = async (client: TestClient) =>
    (await deploymentClientStates(database.db, deploymentId, { limit: 100 })).find(
      (s) => s.clientId === client.id,
    );

  it('summaries move with each client through received, downloading, running, succeeded', async () => {
    const [a] = clients as [TestClient];
    expect(await summary()).toMatchObject({ targeted: 6, received: 0, notYetReported: 6 });
    await apply([incoming(a, 'policy-received', at(1))]);
    expect(await summary()).toMatchObject({ received: 1, downloading: 0, notYetReported: 5 });
    await apply([incoming(a, 'download-started', at(2))]);
    expect(await summary()).toMatchObject({ received: 0, downloading: 1 });
    await apply([incoming(a, 'download-completed', at(3)), incoming(a, 'program-started', at(4))]);
    expect(await summary()).toMatchObject({ received: 0, downloading: 0, running: 1 });
    await apply([incoming(a, 'program-succeeded', at(5), { exitCode: 0 })]);
    expect(await summary()).toMatchObject({ running: 0, succeeded: 1, failed: 0, notYetReported: 5 });
    expect(await stateOf(a)).toMatchObject({ state: 'succeeded', statusId: 10009, exitCode: 0 });
  });

  it('counts failures and time-outs in their own columns', async () => {
    const [, b, c] = clients as [TestClient, TestClient, TestClient];
    await apply([
      incoming(b, 'program-started', at(1)),
      incoming(b, 'program-failed', at(2), { exitCode: 3 }),
    ]);
    await apply([incoming(c, 'program-started', at(1)), incoming(c, 'program-timed-out', at(9))]);
    expect(await summary()).toMatchObject({
      running: 0,
      succeeded: 1,
      failed: 1,
      timedOut: 1,
      notYetReported: 3,
    });
    expect(await stateOf(b)).toMatchObject({ state: 'failed', exitCode: 3 });
    expect(await stateOf(c)).toMatchObject({ state: 'timed-out' });
  });

  it('an out-of-order older message is stored but does not move a client back', async () => {
    const [a] = clients as [TestClient];
    const before = await summary();
    const late = incoming(a, 'program-started', at(4));
    await apply([late]);
    expect(await summary()).toEqual(before);
    expect(await stateOf(a)).toMatchObject({ state: 'succeeded' });
    const stored = await database.db
      .selectFrom('status_messages')
      .select('status_id')
      .where('message_id', '=', late.messageId)
      .executeTakeFirst();
    expect(stored?.status_id).toBe(10005);
  });

  it('an older message without milliseconds does not move a client back either', async () => {
    const d = clients[3] as TestClient;
    await apply([incoming(d, 'program-succeeded', '2026-03-01T10:00:05.500Z')]);
    const before = await summary();
    // 10:00:05 is half a second before 10:00:05.500, whatever the text looks like.
    await apply([incoming(d, 'program-started', '2026-03-01T10:00:05Z')]);
    expect(await summary()).toEqual(before);
    expect(await stateOf(d)).toMatchObject({ state: 'succeeded' });
  });

  it('messages of one batch apply in time order whatever their order in the batch', async () => {
    const e = clients[4] as TestClient;
    const before = await summary();
    await apply([
      incoming(e, 'program-succeeded', at(30)),
      incoming(e, 'policy-received', at(10)),
      incoming(e, 'program-started', at(20)),
    ]);
    const after = await summary();
    expect(after.succeeded).toBe(before.succeeded + 1);
    expect(after.received).toBe(before.received);
    expect(after.running).toBe(before.running);
    expect(await stateOf(e)).toMatchObject({ state: 'succeeded' });
  });

  it('a duplicate message id is stored once and counted once', async () => {
    const f = clients[5] as TestClient;
    const message = incoming(f, 'policy-received', at(1));
    await apply([message]);
    const before = await summary();
    await apply([message]);
    await apply([message, message]);
    expect(await summary()).toEqual(before);
    const rows = await database.db
      .selectFrom('status_messages')
      .select('id')
      .where('message_id', '=', message.messageId)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('a duplicate message id carrying a newer state moves nothing the second time', async () => {
    const f = clients[5] as TestClient;
    const first = incoming(f, 'download-started', at(2));
    await apply([first]);
    const before = await summary();
    // The same id again, even dressed up as a later success, is the same message: it is not stored
    // twice and must not move the summary.
    const replay: IncomingStatus = {
      ...first,
      message: statusMessage('program-succeeded', deploymentId, at(3)),
    };
    await apply([replay]);
    expect(await summary()).toEqual(before);
    expect(await stateOf(f)).toMatchObject({ state: 'downloading' });
  });

  it('stores messages about no deployment or an unknown one without touching any summary', async () => {
    const [a] = clients as [TestClient];
    const before = await summary();
    const general = incoming(a, 'root-first-use', at(50), { deploymentId: null });
    const unknown = incoming(a, 'program-failed', at(51), { deploymentId: 'ABC-dep-unknown' });
    await apply([general, unknown]);
    expect(await summary()).toEqual(before);
    const rows = await database.db
      .selectFrom('status_messages')
      .select(['message_id', 'severity', 'machine', 'site_code'])
      .where('message_id', 'in', [general.messageId, unknown.messageId])
      .orderBy('message_id')
      .execute();
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.message_id === general.messageId)).toMatchObject({
      severity: 'warning',
      machine: 'status-0',
      site_code: 'ABC',
    });
  });
});
