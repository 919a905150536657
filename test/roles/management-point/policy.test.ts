import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managementPointPaths } from '../../../src/protocol/index.js';
import { setClientState } from '../../../src/site/clients/client-store.js';
import { createCollection } from '../../../src/site/collections/collection-store.js';
import {
  acceptAssignments,
  acceptPolicyBody,
  type PolicyAssignmentsPayload,
} from '../../../src/trust/index.js';
import {
  addClient,
  addDeployment,
  addPackage,
  expectError,
  startManagementPoint,
  type MpFixture,
} from '../../support/site-fixture.js';
import { TestClient } from '../../support/test-pki.js';

describe('management point: signed policy (C3, C4)', () => {
  let mp: MpFixture;
  const member = new TestClient('pol-member');
  const outsider = new TestClient('pol-outsider');
  const pending = new TestClient('pol-pending');
  const revoked = new TestClient('pol-revoked');
  let collectionId: string;
  let packageId: string;
  let firstPolicyId: string;

  beforeAll(async () => {
    mp = await startManagementPoint();
    await addClient(mp.db, member, 'approved');
    await addClient(mp.db, outsider, 'approved');
    await addClient(mp.db, pending, 'pending');
    await addClient(mp.db, revoked, 'revoked');
    collectionId = (
      await createCollection(
        mp.db,
        { name: 'Policy', description: '', rule: null, clientIds: [member.id, pending.id, revoked.id] },
        new Date(),
      )
    ).id;
    ({ packageId } = await addPackage(mp.db, mp.pki.siteKey, { name: 'policy-package' }));
    firstPolicyId = (await addDeployment(mp.db, mp.pki.siteKey, { packageId, collectionId })).policyId;
  });
  afterAll(async () => {
    await mp.app.close();
    await mp.database.discard();
  });

  function accept(
    client: TestClient,
    body: string,
    lastSequence: number | null = null,
  ): PolicyAssignmentsPayload {
    return acceptAssignments(body, {
      mpKey: mp.pki.mpKey.verifyingKey(),
      clientId: client.id,
      siteCode: 'ABC',
      lastSequence,
      now: new Date(),
    }).payload;
  }

  it('C3 an unknown client gets 404 and a malformed id 400', async () => {
    expectError(await mp.poll('a'.repeat(64)), 404, 'ERR_UNKNOWN_CLIENT');
    expectError(await mp.poll('not-a-client-id'), 400, 'ERR_INVALID_REQUEST');
    expectError(await mp.poll('A'.repeat(64)), 400, 'ERR_INVALID_REQUEST');
  });

  it('S1 a revoked client gets 403 and no policy', async () => {
    expectError(await mp.poll(revoked.id), 403, 'ERR_CLIENT_REVOKED');
  });

  it('S1 C3 a pending client gets a signed, empty assignment list', async () => {
    const response = await mp.poll(pending.id);
    expect(response.statusCode).toBe(200);
    const list = accept(pending, response.body);
    expect(list).toMatchObject({
      clientId: pending.id,
      siteCode: 'ABC',
      mpName: 'ABC-MP1',
      sequence: 1,
      assignments: [],
    });
  });

  it('C3 C4 an approved member gets the deployment; the body it names is signed by the site key', async () => {
    const response = await mp.poll(member.id);
    expect(response.statusCode).toBe(200);
    expect(response.headers['etag']).toMatch(/^"1-[0-9a-f]{16}"$/);
    const list = accept(member, response.body);
    expect(list.sequence).toBe(1);
    expect(list.assignments.map((a) => a.policyId)).toEqual([firstPolicyId]);
    const assignment = list.assignments[0]!;
    const body = await mp.app.inject({
      method: 'GET',
      url: managementPointPaths.policyBody(assignment.policyId, assignment.version),
    });
    expect(body.statusCode).toBe(200);
    const opened = acceptPolicyBody(body.body, {
      siteKeys: new Map([[mp.pki.siteKey.keyId, mp.pki.siteKey.verifyingKey()]]),
      expectedHash: assignment.hash,
      now: new Date(),
    });
    expect(opened.payload).toMatchObject({ policyId: firstPolicyId, package: { packageId } });
    // A client outside the collection gets no assignment.
    expect(accept(outsider, (await mp.poll(outsider.id)).body).assignments).toEqual([]);
  });

  it('C4 an unknown policy body is 404 and a malformed one 400', async () => {
    expectError(
      await mp.app.inject({ method: 'GET', url: managementPointPaths.policyBody('ABC-pol-none', 1) }),
      404,
      'ERR_NOT_FOUND',
    );
    expectError(
      await mp.app.inject({ method: 'GET', url: '/mp/v1/policy-bodies/ABC-pol-x/0' }),
      400,
      'ERR_INVALID_REQUEST',
    );
    expectError(
      await mp.app.inject({ method: 'GET', url: '/mp/v1/policy-bodies/%24bad/1' }),
      400,
      'ERR_INVALID_REQUEST',
    );
  });

  it('C3 an unchanged poll with If-None-Match is a 304 cache hit: no database query, no signing', async () => {
    const first = await mp.poll(member.id);
    const etag = String(first.headers['etag']);
    const queries = mp.queries.count;
    const again = await mp.poll(member.id, etag);
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    expect(again.headers['etag']).toBe(etag);
    // Without the ETag the cached list itself comes back, still without a query.
    const full = await mp.poll(member.id);
    expect(full.statusCode).toBe(200);
    expect(full.body).toBe(first.body);
    expect(mp.queries.count).toBe(queries);
  });

  it('C3 concurrent first polls build the list once', async () => {
    const client = new TestClient('pol-concurrent');
    await addClient(mp.db, client, 'approved');
    const before = mp.queries.count;
    const single = await mp.poll(client.id);
    const perBuild = mp.queries.count - before;
    expect(perBuild).toBeGreaterThan(0);
    mp.mp.invalidate([client.id]);
    const start = mp.queries.count;
    const answers = await Promise.all(Array.from({ length: 5 }, () => mp.poll(client.id)));
    expect(new Set(answers.map((a) => a.headers['etag']))).toEqual(new Set([single.headers['etag']]));
    expect(mp.queries.count - start).toBeLessThanOrEqual(perBuild);
  });

  it('C3 invalidate makes the next poll rebuild; the sequence rises only when the content changes', async () => {
    const first = await mp.poll(member.id);
    const etag = String(first.headers['etag']);
    const firstList = accept(member, first.body);

    // Invalidated without a change: rebuilt from the database, same list, same sequence, still 304.
    mp.mp.invalidate([member.id]);
    const queries = mp.queries.count;
    const rebuilt = await mp.poll(member.id, etag);
    expect(mp.queries.count).toBeGreaterThan(queries);
    expect(rebuilt.statusCode).toBe(304);

    // A second deployment to its collection: until invalidated, the cache still answers.
    const second = await addDeployment(mp.db, mp.pki.siteKey, { packageId, collectionId });
    expect((await mp.poll(member.id, etag)).statusCode).toBe(304);
    mp.mp.invalidate([member.id]);
    const changed = await mp.poll(member.id, etag);
    expect(changed.statusCode).toBe(200);
    const changedList = accept(member, changed.body, firstList.sequence);
    expect(changedList.sequence).toBe(firstList.sequence + 1);
    expect(changedList.assignments.map((a) => a.policyId).sort()).toEqual(
      [firstPolicyId, second.policyId].sort(),
    );
    expect(changed.headers['etag']).not.toBe(etag);

    // 'all' invalidates everyone; nothing changed, so the sequence stays.
    mp.mp.invalidate('all');
    const same = await mp.poll(member.id);
    expect(accept(member, same.body, changedList.sequence).sequence).toBe(changedList.sequence);
    expect(same.headers['etag']).toBe(changed.headers['etag']);
  });

  it('S1 C3 revoking a client and invalidating it stops its policy at once', async () => {
    const client = new TestClient('pol-to-revoke');
    await addClient(mp.db, client, 'approved');
    const before = await mp.poll(client.id);
    expect(before.statusCode).toBe(200);
    await setClientState(mp.db, client.id, 'revoked', 'admin', new Date());
    mp.mp.invalidate([client.id]);
    expectError(await mp.poll(client.id, String(before.headers['etag'])), 403, 'ERR_CLIENT_REVOKED');
  });

  it('C3 a cached poll still answers when the database is gone (the MP keeps serving cached policy)', async () => {
    const first = await mp.poll(member.id);
    const etag = String(first.headers['etag']);
    await mp.db.destroy();
    expect((await mp.poll(member.id, etag)).statusCode).toBe(304);
    const full = await mp.poll(member.id);
    expect(full.statusCode).toBe(200);
    expect(full.body).toBe(first.body);
    // A client that is not cached needs the database, which answers a 5xx error body.
    const uncached = await mp.poll(outsider.id.replace(/^./, '0'));
    expect(uncached.statusCode).toBeGreaterThanOrEqual(500);
  });
});
