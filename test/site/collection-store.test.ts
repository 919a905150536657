import { afterAll, beforeAll, expect, it } from 'vitest';
import { CollectionEvaluator } from '../../src/site/collections/collection-evaluator.js';
import {
  addDirectMembers,
  collectionMembers,
  collectionsOfClient,
  createCollection,
  evaluateCollection,
  getCollection,
  listCollections,
  ruleCollectionIds,
} from '../../src/site/collections/collection-store.js';
import { deploymentSummary } from '../../src/site/deployments/deployment-store.js';
import { applyInventory } from '../../src/site/inventory/inventory-store.js';
import { SigningKey } from '../../src/trust/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';
import { addClient, addDeployment, addPackage } from '../support/site-fixture.js';
import { fullInventory, TestClient } from '../support/test-pki.js';

const now = new Date('2026-03-01T12:00:00.000Z');

describeEachBackend('collection store', (open) => {
  let database: OpenedTestDatabase;
  const siteKey = SigningKey.generate();
  // Four clients with inventory: two Debian web servers, one Debian database, one Alpine box.
  const web1 = new TestClient('web-1');
  const web2 = new TestClient('web-2');
  const db1 = new TestClient('db-1');
  const alpine = new TestClient('alp-1');
  const all = [web1, web2, db1, alpine];

  beforeAll(async () => {
    database = await open();
    for (const client of all) await addClient(database.db, client, 'approved', now);
    const facts = (family: string, memory: number) => ({ 'os.family': family, 'hw.memoryMb': memory });
    await applyInventory(database.db, web1.id, fullInventory(facts('debian', 4096), [nginx]), now);
    await applyInventory(database.db, web2.id, fullInventory(facts('debian', 2048), [nginx]), now);
    await applyInventory(database.db, db1.id, fullInventory(facts('debian', 16384)), now);
    await applyInventory(database.db, alpine.id, fullInventory(facts('alpine', 512)), now);
  });
  afterAll(async () => {
    await database.discard();
  });

  const nginx = { name: 'nginx', version: '1.24', arch: 'amd64', source: 'dpkg' };
  const ids = (list: readonly TestClient[]) => list.map((c) => c.id).sort();
  const memberIds = async (collectionId: string) =>
    (await collectionMembers(database.db, collectionId, { limit: 500 })).map((m) => m.clientId).sort();

  it('creates a collection with direct members and counts them', async () => {
    const created = await createCollection(
      database.db,
      { name: 'Pilot', description: 'first wave', rule: null, clientIds: [web1.id, db1.id, web1.id] },
      now,
    );
    expect(created).toMatchObject({ name: 'Pilot', description: 'first wave', rule: null, memberCount: 2 });
    expect(await memberIds(created.id)).toEqual(ids([web1, db1]));
    const members = await collectionMembers(database.db, created.id, { limit: 10 });
    expect(members.every((m) => m.direct)).toBe(true);
    expect(members.map((m) => m.hostname).sort()).toEqual(['db-1', 'web-1']);
    expect(await collectionsOfClient(database.db, db1.id)).toContain(created.id);
  });

  it('refuses a duplicate name, an unknown client and a bad rule, and stores nothing for them', async () => {
    await createCollection(database.db, { name: 'Unique', description: '', rule: null, clientIds: [] }, now);
    await expect(
      createCollection(database.db, { name: 'Unique', description: '', rule: null, clientIds: [] }, now),
    ).rejects.toMatchObject({ code: 'ERR_CONFLICT' });
    await expect(
      createCollection(
        database.db,
        { name: 'Ghosts', description: '', rule: null, clientIds: ['0'.repeat(64)] },
        now,
      ),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(
      createCollection(
        database.db,
        { name: 'Broken', description: '', rule: 'os.family = ', clientIds: [] },
        now,
      ),
    ).rejects.toThrow();
    const names = (await listCollections(database.db)).map((c) => c.name);
    expect(names).toContain('Unique');
    expect(names).not.toContain('Ghosts');
    expect(names).not.toContain('Broken');
  });

  it('adds direct members later and keeps the count current', async () => {
    const created = await createCollection(
      database.db,
      { name: 'Grow', description: '', rule: null, clientIds: [web1.id] },
      now,
    );
    const added = await addDirectMembers(database.db, created.id, [web2.id, alpine.id, web1.id]);
    expect(added.sort()).toEqual(ids([web1, web2, alpine]));
    expect((await getCollection(database.db, created.id))?.memberCount).toBe(3);
    await expect(addDirectMembers(database.db, created.id, ['1'.repeat(64)])).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    expect((await getCollection(database.db, created.id))?.memberCount).toBe(3);
  });

  it('evaluates a rule over inventory for every client, in the database', async () => {
    const created = await createCollection(
      database.db,
      {
        name: 'Debian web',
        description: '',
        rule: 'os.family = "debian" and software.name = "nginx"',
        clientIds: [],
      },
      now,
    );
    expect(created.memberCount).toBe(0);
    expect(await ruleCollectionIds(database.db)).toContain(created.id);
    const changed = await evaluateCollection(database.db, created.id, now);
    expect([...changed].sort()).toEqual(ids([web1, web2]));
    const after = await getCollection(database.db, created.id);
    expect(after?.memberCount).toBe(2);
    expect(after?.evaluatedAt?.toISOString()).toBe(now.toISOString());
    expect(await memberIds(created.id)).toEqual(ids([web1, web2]));
    // Evaluating again changes nothing.
    expect((await evaluateCollection(database.db, created.id, now)).size).toBe(0);
  });

  it('numeric facts compare as numbers', async () => {
    const created = await createCollection(
      database.db,
      { name: 'Big memory', description: '', rule: 'hw.memoryMb >= 4096', clientIds: [] },
      now,
    );
    await evaluateCollection(database.db, created.id, now);
    expect(await memberIds(created.id)).toEqual(ids([web1, db1]));
  });

  it('re-evaluates only a subset of clients after their inventory changed', async () => {
    const created = await createCollection(
      database.db,
      { name: 'Alpine', description: '', rule: 'os.family = "alpine"', clientIds: [] },
      now,
    );
    await evaluateCollection(database.db, created.id, now);
    expect(await memberIds(created.id)).toEqual(ids([alpine]));
    // web-1 becomes Alpine and the Alpine box becomes Debian; only web-1 is re-evaluated.
    await applyInventory(
      database.db,
      web1.id,
      fullInventory({ 'os.family': 'alpine', 'hw.memoryMb': 4096 }, [nginx]),
      now,
    );
    await applyInventory(
      database.db,
      alpine.id,
      fullInventory({ 'os.family': 'debian', 'hw.memoryMb': 512 }),
      now,
    );
    const changed = await evaluateCollection(database.db, created.id, now, [web1.id]);
    expect([...changed]).toEqual([web1.id]);
    expect(await memberIds(created.id)).toEqual(ids([web1, alpine]));
    expect((await getCollection(database.db, created.id))?.memberCount).toBe(2);
    // A subset run does not count as a full evaluation; an empty subset changes nothing.
    expect((await evaluateCollection(database.db, created.id, now, [])).size).toBe(0);
    // The full run catches up with the Alpine box.
    const full = await evaluateCollection(database.db, created.id, now);
    expect([...full]).toEqual([alpine.id]);
    expect(await memberIds(created.id)).toEqual(ids([web1]));
    // Restore the inventory for the other tests.
    await applyInventory(
      database.db,
      web1.id,
      fullInventory({ 'os.family': 'debian', 'hw.memoryMb': 4096 }, [nginx]),
      now,
    );
    await applyInventory(
      database.db,
      alpine.id,
      fullInventory({ 'os.family': 'alpine', 'hw.memoryMb': 512 }),
      now,
    );
  });

  it('a direct member stays when the rule stops matching it', async () => {
    const created = await createCollection(
      database.db,
      { name: 'Mixed', description: '', rule: 'client.hostname ~ "web-*"', clientIds: [db1.id, web1.id] },
      now,
    );
    await evaluateCollection(database.db, created.id, now);
    expect(await memberIds(created.id)).toEqual(ids([web1, web2, db1]));
    const members = await collectionMembers(database.db, created.id, { limit: 10 });
    expect(members.find((m) => m.clientId === web1.id)?.direct).toBe(true);
    expect(members.find((m) => m.clientId === web2.id)?.direct).toBe(false);
    expect((await getCollection(database.db, created.id))?.memberCount).toBe(3);
  });

  it('pages members by client id', async () => {
    const created = await createCollection(
      database.db,
      { name: 'Everyone', description: '', rule: null, clientIds: all.map((c) => c.id) },
      now,
    );
    const first = await collectionMembers(database.db, created.id, { limit: 3 });
    const second = await collectionMembers(database.db, created.id, {
      limit: 3,
      after: first.at(-1)?.clientId,
    });
    expect([...first, ...second].map((m) => m.clientId)).toEqual(ids(all));
    expect(second).toHaveLength(1);
  });

  it('the evaluator refreshes targeted counts and tells the policy caches who changed', async () => {
    const created = await createCollection(
      database.db,
      { name: 'Small memory', description: '', rule: 'hw.memoryMb < 1024', clientIds: [] },
      now,
    );
    const { packageId } = await addPackage(database.db, siteKey, { name: 'evaluator-package' }, now);
    const deployment = await addDeployment(
      database.db,
      siteKey,
      { packageId, collectionId: created.id },
      now,
    );
    expect((await deploymentSummary(database.db, deployment.id)).targeted).toBe(0);
    const told: string[][] = [];
    const evaluator = new CollectionEvaluator(
      database.db,
      { membershipChanged: (clientIds) => told.push([...clientIds]) },
      { debounceMs: 10, fullEvaluationMs: 3_600_000, onError: (error) => told.push([String(error)]) },
    );
    const changed = await evaluator.evaluateAll();
    expect(changed.has(alpine.id)).toBe(true);
    expect(told.flat()).toContain(alpine.id);
    expect((await deploymentSummary(database.db, deployment.id)).targeted).toBe(1);

    // Inventory of db-1 changes: the debounced evaluation picks it up.
    await applyInventory(
      database.db,
      db1.id,
      fullInventory({ 'os.family': 'debian', 'hw.memoryMb': 256 }),
      now,
    );
    evaluator.clientsChanged([db1.id]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await evaluator.settled();
    expect(told.flat()).toContain(db1.id);
    expect((await deploymentSummary(database.db, deployment.id)).targeted).toBe(2);
    await evaluator.stop();
  });
});
