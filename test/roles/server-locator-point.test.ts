/**
 * The server locator point over a test database (Fastify inject): answers an agent can verify from
 * a pinned root (C2 locating), every refusal with its code, and the cache that keeps signing and
 * database queries off the hot path.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { locateAnswerSchema, serverLocatorPaths } from '../../src/protocol/index.js';
import { ServerLocatorPoint } from '../../src/roles/server-locator-point/index.js';
import { createBoundary } from '../../src/site/boundaries/index.js';
import { saveCertificate, saveRootDocument } from '../../src/site/hierarchy/trust-store.js';
import { installErrorHandler } from '../../src/site/http/error-handler.js';
import {
  acceptLocatorAnswer,
  certifiedSiteKeys,
  openDocument,
  SigningKey,
  trustRootFromPin,
  verifySiteCertificate,
} from '../../src/trust/index.js';
import { openTestPglite, type OpenedTestDatabase } from '../support/backends.js';
import { countingDb, expectError, type QueryCounter } from '../support/site-fixture.js';
import { buildSitePki, type TestSitePki } from '../support/test-pki.js';

const minute = 60_000;

describe('server locator point', () => {
  let database: OpenedTestDatabase;
  let pki: TestSitePki;
  let app: FastifyInstance | undefined;
  let slp: ServerLocatorPoint;
  let queries: QueryCounter;
  let nowMs = Date.now();
  const clock = () => new Date(nowMs);

  const locate = (payload: unknown, headers: Record<string, string> = {}) =>
    app!.inject({
      method: 'POST',
      url: serverLocatorPaths.locate,
      headers: { 'content-type': 'application/json', ...headers },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

  async function setMps(mps: { name: string; urls: string[]; health?: 'ok' | 'down'; siteCode?: string }[]) {
    await database.db.deleteFrom('site_systems').execute();
    for (const mp of mps) {
      await database.db
        .insertInto('site_systems')
        .values({
          id: `${mp.siteCode ?? pki.siteCode}-${mp.name}`,
          site_code: mp.siteCode ?? pki.siteCode,
          role: 'management-point',
          name: mp.name,
          urls: JSON.stringify(mp.urls),
          key_id: null,
          certificate: null,
          embedded: false,
          health: mp.health ?? 'ok',
          last_seen_at: null,
        })
        .execute();
    }
  }

  beforeAll(async () => {
    database = await openTestPglite();
    pki = buildSitePki();
    await saveRootDocument(
      database.db,
      pki.rootDocument,
      1,
      new Date(Date.now() + 365 * 86_400_000).toISOString(),
    );
    const payload = openDocument(
      'site-certificate',
      pki.siteCertificate.encoded,
      [pki.rootKey.verifyingKey()],
      1,
      new Date(),
    ).payload;
    await saveCertificate(database.db, {
      kind: 'site-certificate',
      subject: pki.siteCode,
      siteCode: pki.siteCode,
      keyId: pki.siteKey.keyId,
      serial: 1,
      issuedAt: payload.issuedAt,
      expiresAt: payload.expiresAt,
      document: pki.siteCertificate,
    });
    await createBoundary(database.db, { siteCode: pki.siteCode, value: '10.0.0.0/8' });
    await createBoundary(database.db, { siteCode: pki.siteCode, value: '10.1.0.0/16' });
    await createBoundary(database.db, { siteCode: pki.siteCode, value: '2001:db8::/32' });
    await createBoundary(database.db, { siteCode: 'XYZ', value: '192.0.2.0/24' });
  });

  afterAll(async () => {
    await app?.close();
    await database.discard();
  });

  beforeEach(async () => {
    await setMps([
      { name: 'ABC-MP2', urls: ['https://mp2.example.test/', 'http://10.9.9.9:8430'] },
      { name: 'ABC-MP1', urls: ['http://127.0.0.1:8430'] },
      { name: 'ABC-MP3', urls: ['http://mp3.example.test/'], health: 'down' },
      { name: 'ABC-MP4', urls: ['ftp://nope.example.test/', 'http://user:pw@nope.example.test/'] },
      { name: 'XYZ-MP1', urls: ['http://xyz.example.test/'], siteCode: 'XYZ' },
    ]);
    nowMs = Date.now();
    const counting = countingDb(database.db);
    queries = counting.counter;
    slp = new ServerLocatorPoint({ db: counting.db, siteCode: pki.siteCode, siteKey: pki.siteKey, clock });
    await app?.close();
    const fresh = Fastify({ logger: false });
    installErrorHandler(fresh);
    slp.register(fresh);
    await fresh.ready();
    app = fresh;
  });

  it('C2 locating: answers a signed locator answer an agent with a pinned root verifies', async () => {
    const response = await locate({ addresses: ['fe80::1%eth0', '10.1.2.3'] });
    expect(response.statusCode).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const body = locateAnswerSchema.parse(response.json());
    const now = new Date(nowMs);
    const root = trustRootFromPin(body.rootChain, pki.rootKey.fingerprint, now);
    const certificate = verifySiteCertificate(body.siteCertificate, root, now);
    const opened = acceptLocatorAnswer(body.answer, {
      siteKeys: certifiedSiteKeys([certificate]),
      addresses: ['10.1.2.3'],
      now,
    });
    expect(opened.payload).toMatchObject({
      siteCode: 'ABC',
      boundary: '10.1.0.0/16',
      managementPoints: [
        { name: 'ABC-MP1', urls: ['http://127.0.0.1:8430'] },
        { name: 'ABC-MP2', urls: ['https://mp2.example.test/', 'http://10.9.9.9:8430'] },
      ],
      issuedAt: now.toISOString(),
      expiresAt: new Date(nowMs + 15 * minute).toISOString(),
    });
    const v6 = locateAnswerSchema.parse((await locate({ addresses: ['2001:db8:5::1'] })).json());
    expect(
      openDocument('locator-answer', v6.answer, [pki.siteKey.verifyingKey()], 1, now).payload.boundary,
    ).toBe('2001:db8::/32');
  });

  it('ERR_NO_BOUNDARY (404) when no boundary holds any address, or the best one is another site’s', async () => {
    expectError(await locate({ addresses: ['203.0.113.9'] }), 404, 'ERR_NO_BOUNDARY');
    const foreign = expectError(
      await locate({ addresses: ['10.2.0.1', '192.0.2.1'] }),
      404,
      'ERR_NO_BOUNDARY',
    );
    expect(foreign.error.message).toContain('site XYZ');
    expect(slp.signatureCount).toBe(0);
  });

  it('refuses malformed requests with stable codes before any database work', async () => {
    expectError(await locate({ addresses: ['10.1.2.3', 'ten.one'] }), 400, 'ERR_INVALID_REQUEST');
    expectError(await locate({ addresses: [] }), 400, 'ERR_INVALID_REQUEST');
    expectError(
      await locate({ addresses: Array.from({ length: 65 }, (_, i) => `10.0.0.${i}`) }),
      400,
      'ERR_INVALID_REQUEST',
    );
    expectError(await locate({ addresses: ['10.1.2.3'], extra: 1 }), 400, 'ERR_INVALID_REQUEST');
    expectError(await locate({ addresses: '10.1.2.3' }), 400, 'ERR_INVALID_REQUEST');
    expectError(await locate('{"addresses": ['), 400, 'ERR_MALFORMED_JSON');
    expectError(await locate({ addresses: ['10.1.2.3'], pad: 'x'.repeat(9000) }), 413, 'ERR_TOO_LARGE');
    expectError(
      await locate('addresses=10.1.2.3', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
      'ERR_UNSUPPORTED_MEDIA_TYPE',
    );
    expect(queries.count).toBe(0);
  });

  it('a flood of locate requests costs one signature and no database query per boundary', async () => {
    expect((await locate({ addresses: ['10.1.0.1'] })).statusCode).toBe(200);
    const afterFirst = queries.count;
    expect(slp.signatureCount).toBe(1);
    const bodies = new Set<string>();
    for (let i = 0; i < 500; i += 1) {
      const response = await locate({ addresses: [`10.1.${i % 256}.${(i * 7) % 256}`, '203.0.113.1'] });
      expect(response.statusCode).toBe(200);
      bodies.add(response.body);
    }
    expect(bodies.size).toBe(1);
    expect(slp.signatureCount).toBe(1);
    expect(queries.count).toBe(afterFirst);
    // Another boundary is another answer, signed once.
    await locate({ addresses: ['10.200.0.1'] });
    await locate({ addresses: ['10.201.0.1'] });
    expect(slp.signatureCount).toBe(2);
  });

  it('re-signs a cached answer once less than the margin is left, and reads the database again after refreshMs', async () => {
    await locate({ addresses: ['10.1.0.1'] });
    const afterFirst = queries.count;
    nowMs += 29_000;
    await locate({ addresses: ['10.1.0.1'] });
    expect(queries.count).toBe(afterFirst);
    nowMs += 9 * minute;
    await locate({ addresses: ['10.1.0.1'] });
    // The stale view answered; its background re-read follows.
    for (let i = 0; i < 100 && queries.count === afterFirst; i += 1)
      await new Promise((r) => setTimeout(r, 20));
    expect(queries.count).toBeGreaterThan(afterFirst);
    expect(slp.signatureCount).toBe(1);
    nowMs += 1 * minute + 1;
    const renewed = locateAnswerSchema.parse((await locate({ addresses: ['10.1.0.1'] })).json());
    expect(slp.signatureCount).toBe(2);
    const payload = openDocument(
      'locator-answer',
      renewed.answer,
      [pki.siteKey.verifyingKey()],
      1,
      new Date(nowMs),
    ).payload;
    expect(Date.parse(payload.expiresAt) - nowMs).toBe(15 * minute);
  });

  it('follows boundary and management point changes after invalidate()', async () => {
    await locate({ addresses: ['10.1.0.1'] });
    await setMps([{ name: 'ABC-MP9', urls: ['http://mp9.example.test/'] }]);
    const stale = locateAnswerSchema.parse((await locate({ addresses: ['10.1.0.1'] })).json());
    const stalePayload = openDocument(
      'locator-answer',
      stale.answer,
      [pki.siteKey.verifyingKey()],
      1,
      new Date(nowMs),
    ).payload;
    expect(stalePayload.managementPoints.map((mp) => mp.name)).toEqual(['ABC-MP1', 'ABC-MP2']);
    slp.invalidate();
    const fresh = locateAnswerSchema.parse((await locate({ addresses: ['10.1.0.1'] })).json());
    const payload = openDocument(
      'locator-answer',
      fresh.answer,
      [pki.siteKey.verifyingKey()],
      1,
      new Date(nowMs),
    ).payload;
    expect(payload.managementPoints).toEqual([{ name: 'ABC-MP9', urls: ['http://mp9.example.test/'] }]);
    expect(slp.signatureCount).toBe(2);

    const added = await createBoundary(database.db, { siteCode: pki.siteCode, value: '198.51.100.0/24' });
    expectError(await locate({ addresses: ['198.51.100.7'] }), 404, 'ERR_NO_BOUNDARY');
    slp.invalidate();
    expect((await locate({ addresses: ['198.51.100.7'] })).statusCode).toBe(200);
    await database.db.deleteFrom('boundaries').where('id', '=', added.id).execute();
  });

  it('ERR_LOCATOR_UNAVAILABLE (503, retryable) without a management point or a certificate for the site key', async () => {
    await setMps([{ name: 'ABC-MP1', urls: ['http://127.0.0.1:8430'], health: 'down' }]);
    slp.invalidate();
    const body = expectError(await locate({ addresses: ['10.1.0.1'] }), 503, 'ERR_LOCATOR_UNAVAILABLE');
    expect(body.error.retryable).toBe(true);

    await setMps([{ name: 'ABC-MP1', urls: ['http://127.0.0.1:8430'] }]);
    const rotated = new ServerLocatorPoint({
      db: database.db,
      siteCode: pki.siteCode,
      siteKey: SigningKey.generate(),
      clock,
    });
    await expect(rotated.locate(['10.1.0.1'])).rejects.toMatchObject({ code: 'ERR_LOCATOR_UNAVAILABLE' });
  });

  it('refuses a validity longer than one hour or a margin not below the validity', () => {
    const base = { db: database.db, siteCode: 'ABC', siteKey: pki.siteKey };
    expect(() => new ServerLocatorPoint({ ...base, answerValidityMs: 61 * minute })).toThrow(RangeError);
    expect(
      () => new ServerLocatorPoint({ ...base, answerValidityMs: minute, renewMarginMs: minute }),
    ).toThrow(RangeError);
  });
});
