import { afterAll, beforeAll, expect, it } from 'vitest';
import { setClientState } from '../../src/site/clients/client-store.js';
import { createCollection } from '../../src/site/collections/collection-store.js';
import {
  createDeployment,
  deploymentsOfCollections,
  deploymentSummary,
  listDeployments,
  refreshTargeted,
  requireDeployment,
} from '../../src/site/deployments/deployment-store.js';
import { getPackageVersion, listPackages } from '../../src/site/packages/package-store.js';
import { policyBodyEnvelope, policyTargetsOf } from '../../src/site/policy/policy-targets.js';
import { openDocument, sha256Hex, SigningKey } from '../../src/trust/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';
import { addClient, addDeployment, addPackage, testProgram } from '../support/site-fixture.js';
import { TestClient } from '../support/test-pki.js';

const now = new Date('2026-03-01T12:00:00.000Z');
const hour = 3600 * 1000;

describeEachBackend('packages and deployments', (open) => {
  let database: OpenedTestDatabase;
  const siteKey = SigningKey.generate();
  const approved = new TestClient('dep-approved');
  const pending = new TestClient('dep-pending');
  const revoked = new TestClient('dep-revoked');
  let collectionId: string;
  let packageId: string;
  let manifestHash: string;

  beforeAll(async () => {
    database = await open();
    await addClient(database.db, approved, 'approved', now);
    await addClient(database.db, pending, 'pending', now);
    await addClient(database.db, revoked, 'revoked', now);
    collectionId = (
      await createCollection(
        database.db,
        { name: 'Targets', description: '', rule: null, clientIds: [approved.id, pending.id, revoked.id] },
        now,
      )
    ).id;
    ({ packageId, manifestHash } = await addPackage(database.db, siteKey, { name: 'Editor' }, now));
  });
  afterAll(async () => {
    await database.discard();
  });

  it('stores package versions with their programs and signed manifest', async () => {
    await addPackage(
      database.db,
      siteKey,
      { name: 'Editor', version: '2.0.0' },
      new Date(now.getTime() + hour),
    );
    const versions = (await listPackages(database.db)).filter((p) => p.packageId === packageId);
    expect(versions.map((v) => v.version)).toEqual(['1.0.0', '2.0.0']);
    expect(versions[0]?.programs).toEqual([testProgram]);
    const latest = await getPackageVersion(database.db, packageId, null);
    expect(latest.version).toBe('2.0.0');
    const first = await getPackageVersion(database.db, packageId, '1.0.0');
    expect(first.manifestHash).toBe(manifestHash);
    const manifest = openDocument('content-manifest', first.manifest, [siteKey.verifyingKey()], 1, now);
    expect(manifest.hash).toBe(manifestHash);
    await expect(getPackageVersion(database.db, packageId, '9.9.9')).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
  });

  it('C4 a deployment becomes a policy body signed by the site key, verifiable with openDocument', async () => {
    const deployment = await addDeployment(database.db, siteKey, { packageId, collectionId }, now);
    expect(deployment).toMatchObject({
      packageId,
      packageVersion: '2.0.0',
      programName: 'Install',
      collectionId,
      state: 'active',
      policyVersion: 1,
      rerun: 'never',
    });
    const envelope = await policyBodyEnvelope(database.db, deployment.policyId, 1);
    expect(envelope).toBeDefined();
    const body = openDocument('policy-body', envelope ?? '', [siteKey.verifyingKey()], 1, now);
    expect(body.payload).toMatchObject({
      kind: 'policy-body',
      policyId: deployment.policyId,
      deploymentId: deployment.id,
      siteCode: 'ABC',
      package: { packageId, version: '2.0.0' },
      program: { name: 'Install', commandLine: 'sh install.sh', environment: { MODE: 'quiet' } },
      rerun: 'never',
    });
    // Another key does not open it.
    expect(() =>
      openDocument('policy-body', envelope ?? '', [SigningKey.generate().verifyingKey()], 1, now),
    ).toThrow(expect.objectContaining({ code: 'ERR_UNKNOWN_KEY' }) as Error);
    // The stored hash is the hash an assignment list names (C4).
    const row = await database.db
      .selectFrom('policy_bodies')
      .select('hash')
      .where('policy_id', '=', deployment.policyId)
      .executeTakeFirstOrThrow();
    expect(row.hash).toBe(body.hash);
    expect(row.hash).toBe(sha256Hex(body.payloadBytes));
  });

  it('has a summary row from the start; targeted counts approved members only', async () => {
    const deployment = await addDeployment(database.db, siteKey, { packageId, collectionId }, now);
    const summary = await deploymentSummary(database.db, deployment.id);
    expect(summary).toMatchObject({
      targeted: 1,
      received: 0,
      downloading: 0,
      running: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      notYetReported: 1,
    });
    expect((await listDeployments(database.db)).map((d) => d.id)).toContain(deployment.id);
    expect(await deploymentsOfCollections(database.db, [collectionId])).toContain(deployment.id);
    expect(await deploymentsOfCollections(database.db, [])).toEqual([]);
  });

  it('S1 targeted counts follow approval and revocation', async () => {
    const client = new TestClient('dep-later');
    await addClient(database.db, client, 'pending', now);
    const collection = await createCollection(
      database.db,
      { name: 'Later', description: '', rule: null, clientIds: [client.id, approved.id] },
      now,
    );
    const deployment = await addDeployment(
      database.db,
      siteKey,
      { packageId, collectionId: collection.id },
      now,
    );
    expect((await deploymentSummary(database.db, deployment.id)).targeted).toBe(1);
    await setClientState(database.db, client.id, 'approved', 'admin', now);
    await refreshTargeted(database.db, deployment.id);
    expect((await deploymentSummary(database.db, deployment.id)).targeted).toBe(2);
    await setClientState(database.db, client.id, 'revoked', 'admin', now);
    await refreshTargeted(database.db, deployment.id);
    expect((await deploymentSummary(database.db, deployment.id)).targeted).toBe(1);
  });

  it('S1 only approved members get policy targets; expired deployments drop out', async () => {
    const client = new TestClient('dep-targets');
    await addClient(database.db, client, 'approved', now);
    const collection = await createCollection(
      database.db,
      { name: 'Policy targets', description: '', rule: null, clientIds: [client.id, pending.id, revoked.id] },
      now,
    );
    const lasting = await addDeployment(
      database.db,
      siteKey,
      { packageId, collectionId: collection.id },
      now,
    );
    const shortLived = await addDeployment(
      database.db,
      siteKey,
      { packageId, collectionId: collection.id, expiresAt: new Date(now.getTime() + hour) },
      now,
    );
    const targets = await policyTargetsOf(database.db, client.id, now);
    expect(targets.map((t) => t.policyId).sort()).toEqual([lasting.policyId, shortLived.policyId].sort());
    for (const target of targets) {
      expect(target.version).toBe(1);
      expect(target.hash).toMatch(/^[0-9a-f]{64}$/);
    }
    const afterExpiry = await policyTargetsOf(database.db, client.id, new Date(now.getTime() + 2 * hour));
    expect(afterExpiry.map((t) => t.policyId)).toEqual([lasting.policyId]);
    expect(await policyTargetsOf(database.db, pending.id, now)).toEqual([]);
    expect(await policyTargetsOf(database.db, revoked.id, now)).toEqual([]);
  });

  it('refuses a deployment with an unknown program, collection or package, or a bad schedule', async () => {
    const signing = { siteCode: 'ABC', siteKey, contentUrls: [] };
    const input = {
      name: null,
      packageId,
      packageVersion: null,
      programName: 'Install',
      collectionId,
      availableAt: now,
      mandatoryAt: null,
      expiresAt: null,
      rerun: 'never' as const,
    };
    const before = (await listDeployments(database.db)).length;
    await expect(
      createDeployment(database.db, { ...input, programName: 'Nope' }, signing, now),
    ).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
    await expect(
      createDeployment(database.db, { ...input, collectionId: 'col-missing' }, signing, now),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(
      createDeployment(database.db, { ...input, packageId: 'ABC-missing' }, signing, now),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(
      createDeployment(database.db, { ...input, expiresAt: new Date(now.getTime() - hour) }, signing, now),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST' });
    await expect(
      createDeployment(database.db, { ...input, mandatoryAt: new Date(now.getTime() - hour) }, signing, now),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_REQUEST' });
    expect((await listDeployments(database.db)).length).toBe(before);
    await expect(requireDeployment(database.db, 'ABC-dep-missing')).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
  });
});
