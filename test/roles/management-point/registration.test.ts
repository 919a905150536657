import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  managementPointPaths,
  registrationAnswerSchema,
  trustBundleSchema,
} from '../../../src/protocol/index.js';
import { getClient, setClientState } from '../../../src/site/clients/client-store.js';
import { createEnrolmentToken } from '../../../src/site/clients/enrolment-tokens.js';
import { addDirectMembers, createCollection } from '../../../src/site/collections/collection-store.js';
import { acceptAssignments, openDocument, SigningKey } from '../../../src/trust/index.js';
import {
  addDeployment,
  addPackage,
  expectError,
  startManagementPoint,
  type MpFixture,
} from '../../support/site-fixture.js';
import { forgedEnvelope, TestClient } from '../../support/test-pki.js';

const hour = 3600 * 1000;

describe('management point: trust bundle and registration (S1)', () => {
  let mp: MpFixture;
  beforeAll(async () => {
    mp = await startManagementPoint();
  });
  afterAll(async () => {
    await mp.close();
  });

  const token = async (uses: number, expiresInMs = hour) =>
    (
      await createEnrolmentToken(mp.db, {
        description: 'test',
        uses,
        expiresAt: new Date(Date.now() + expiresInMs),
        now: new Date(),
      })
    ).token;
  const clientCount = async () =>
    (
      await mp.db
        .selectFrom('clients')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n;

  it('C1 C2 serves the trust bundle with an ETag and answers 304 when it is unchanged', async () => {
    const first = await mp.app.inject({ method: 'GET', url: managementPointPaths.trust });
    expect(first.statusCode).toBe(200);
    const etag = first.headers['etag'];
    expect(typeof etag).toBe('string');
    expect(trustBundleSchema.parse(first.json())).toEqual(mp.pki.trustBundle);
    const root = openDocument(
      'root',
      mp.pki.trustBundle.rootChain[0] ?? '',
      [mp.pki.rootKey.verifyingKey()],
      1,
      new Date(),
    );
    expect(root.payload.keys.map((k) => k.keyId)).toEqual([mp.pki.rootKey.keyId]);

    const cached = await mp.app.inject({
      method: 'GET',
      url: managementPointPaths.trust,
      headers: { 'if-none-match': String(etag) },
    });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');
    const stale = await mp.app.inject({
      method: 'GET',
      url: managementPointPaths.trust,
      headers: { 'if-none-match': '"something-else"' },
    });
    expect(stale.statusCode).toBe(200);
  });

  it('S1 a registration with proof of possession and no token is stored pending', async () => {
    const client = new TestClient('reg-pending');
    const response = await mp.register(client.registration());
    expect(response.statusCode).toBe(200);
    expect(registrationAnswerSchema.parse(response.json())).toEqual({
      clientId: client.id,
      state: 'pending',
    });
    const stored = await getClient(mp.db, client.id);
    expect(stored).toMatchObject({
      state: 'pending',
      hostname: 'reg-pending',
      publicKey: client.key.publicRecord().publicKey,
    });
  });

  it('S1 a valid enrolment token approves at once and uses one use', async () => {
    const enrolment = await token(2);
    const client = new TestClient('reg-token');
    const response = await mp.register(client.registration({ enrolmentToken: enrolment }));
    expect(response.json()).toEqual({ clientId: client.id, state: 'approved' });
    const row = await mp.db.selectFrom('enrolment_tokens').select('uses_left').execute();
    expect(row.map((r) => r.uses_left)).toContain(1);
  });

  it('S1 a used-up, expired or wrong token leaves the client pending', async () => {
    const once = await token(1);
    expect(
      (await mp.register(new TestClient('reg-first').registration({ enrolmentToken: once }))).json(),
    ).toMatchObject({
      state: 'approved',
    });
    const used = new TestClient('reg-used');
    expect((await mp.register(used.registration({ enrolmentToken: once }))).json()).toMatchObject({
      state: 'pending',
    });
    const expired = await token(5, -1000);
    const late = new TestClient('reg-expired-token');
    expect((await mp.register(late.registration({ enrolmentToken: expired }))).json()).toMatchObject({
      state: 'pending',
    });
    const wrong = new TestClient('reg-wrong-token');
    expect(
      (await mp.register(wrong.registration({ enrolmentToken: 'enr_not-a-real-token' }))).json(),
    ).toMatchObject({
      state: 'pending',
    });
  });

  it('S1 refuses a registration for another site and stores nothing', async () => {
    const before = await clientCount();
    const client = new TestClient('reg-other-site', 'XYZ');
    expectError(await mp.register(client.registration()), 400, 'ERR_WRONG_SITE');
    expect(await clientCount()).toBe(before);
    expect(await getClient(mp.db, client.id)).toBeUndefined();
  });

  it('S1 refuses a registration signed by another key than the one it names, and stores nothing', async () => {
    const before = await clientCount();
    const client = new TestClient('reg-impostor');
    const other = SigningKey.generate();
    expectError(await mp.register(client.registration({ signer: other })), 401, 'ERR_UNKNOWN_KEY');
    // The signature claims the named key but was made by another: a forgery.
    const forged = forgedEnvelope(client.registration(), client.id, other);
    expectError(await mp.register(forged), 401, 'ERR_SIGNATURE_INVALID');
    expect(await clientCount()).toBe(before);
    expect(await getClient(mp.db, client.id)).toBeUndefined();
  });

  it('S1 refuses an expired or not yet valid registration', async () => {
    const client = new TestClient('reg-expired');
    expectError(
      await mp.register(client.registration({ issuedAgoMs: 2 * hour, validForMs: hour })),
      400,
      'ERR_EXPIRED',
    );
    expectError(
      await mp.register(client.registration({ issuedAgoMs: -hour, validForMs: 2 * hour })),
      400,
      'ERR_NOT_YET_VALID',
    );
    expect(await getClient(mp.db, client.id)).toBeUndefined();
  });

  it('S1 re-registering does not lift a revocation, even with a valid token', async () => {
    const client = new TestClient('reg-revoked');
    await mp.register(client.registration());
    await setClientState(mp.db, client.id, 'revoked', 'admin', new Date());
    const again = await mp.register(client.registration({ enrolmentToken: await token(1) }));
    expect(again.json()).toEqual({ clientId: client.id, state: 'revoked' });
  });

  it('S1 a site that approves automatically approves every client with proof of possession', async () => {
    const automatic = await startManagementPoint({ approveAutomatically: true, database: mp.database });
    const client = new TestClient('reg-automatic');
    expect((await automatic.register(client.registration())).json()).toEqual({
      clientId: client.id,
      state: 'approved',
    });
    await automatic.app.close();
  });

  it('S1 a pending client that re-registers with a token gets its deployments on the next poll', async () => {
    const client = new TestClient('reg-later-approved');
    await mp.register(client.registration());
    const collection = await createCollection(
      mp.db,
      { name: 'Later approved', description: '', rule: null, clientIds: [] },
      new Date(),
    );
    await addDirectMembers(mp.db, collection.id, [client.id]);
    const { packageId } = await addPackage(mp.db, mp.pki.siteKey, { name: 'later-approved' });
    const deployment = await addDeployment(mp.db, mp.pki.siteKey, { packageId, collectionId: collection.id });
    const context = {
      mpKey: mp.pki.mpKey.verifyingKey(),
      clientId: client.id,
      siteCode: 'ABC',
      lastSequence: null,
    };

    const pending = await mp.poll(client.id);
    expect(acceptAssignments(pending.body, { ...context, now: new Date() }).payload.assignments).toEqual([]);

    expect((await mp.register(client.registration({ enrolmentToken: await token(1) }))).json()).toMatchObject(
      {
        state: 'approved',
      },
    );
    const approved = await mp.poll(client.id, String(pending.headers['etag']));
    expect(approved.statusCode).toBe(200);
    const list = acceptAssignments(approved.body, { ...context, now: new Date() }).payload;
    expect(list.assignments.map((a) => a.policyId)).toEqual([deployment.policyId]);
    const summary = await mp.db
      .selectFrom('deployment_summaries')
      .select('targeted')
      .where('deployment_id', '=', deployment.id)
      .executeTakeFirstOrThrow();
    expect(summary.targeted).toBe(1);
  });

  it('S1 a flood of registrations from one address is limited (429) while another address still registers', async () => {
    const flooder = '203.0.113.66';
    // Signed first and sent at once, so the bucket (20, refilling 2 a second) cannot keep up.
    const registrations = Array.from({ length: 40 }, (_, i) => new TestClient(`flood-${i}`).registration());
    const answers = await Promise.all(
      registrations.map((registration) => mp.register(registration, flooder)),
    );
    const limited = answers.filter((a) => a.statusCode === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.statusCode !== 429).map((a) => a.statusCode)).toEqual(
      answers.filter((a) => a.statusCode !== 429).map(() => 200),
    );
    const body = expectError(limited[0]!, 429, 'ERR_RATE_LIMITED');
    expect(body.error.retryable).toBe(true);
    const other = new TestClient('not-flooding');
    const response = await mp.register(other.registration(), '203.0.113.67');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ clientId: other.id });
  });
});
