/**
 * Bad input across every endpoint of a running site (issue 3, "Bad input"): each refusal is a 4xx
 * with a JSON `{error:{code,message,retryable}}` body and a stable code, and nothing is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRoutes } from '../../src/admin/api/admin-api.js';
import { createAccount, grantRights, issueApiToken } from '../../src/admin/identity/index.js';
import { managementPointPaths, protocolLimits, reportBatchAnswerSchema } from '../../src/protocol/index.js';
import { SigningKey } from '../../src/trust/index.js';
import { expectError, startTestSite, type TestSite } from '../support/site-fixture.js';
import { forgedEnvelope, tamperedEnvelope, TestClient, unsignedEnvelope } from '../support/test-pki.js';

const tables = [
  'clients',
  'report_inbox',
  'status_messages',
  'collections',
  'collection_members',
  'deployments',
  'packages',
  'enrolment_tokens',
  'audit_log',
  'admin_accounts',
  'api_tokens',
  'client_assignments',
] as const;

describe('bad input across the endpoints of a running site', () => {
  let site: TestSite;
  const approved = new TestClient('bad-approved');
  const revoked = new TestClient('bad-revoked');
  let readerToken: string;

  beforeAll(async () => {
    site = await startTestSite();
    for (const client of [approved, revoked]) {
      const response = await site.site.app.inject({
        method: 'POST',
        url: managementPointPaths.register,
        payload: { registration: client.registration({ enrolmentToken: site.init.enrolmentToken }) },
      });
      expect(response.json()).toMatchObject({ state: 'approved' });
    }
    expect(
      (await site.inject({ method: 'POST', url: `/api/v1/clients/${revoked.id}/revoke` })).statusCode,
    ).toBe(200);
    // A second account that may only read clients.
    const db = site.site.database.db;
    const reader = await createAccount(db, { name: 'reader', password: 'a long reader password' });
    await grantRights(db, reader.id, 'client', '*', ['read']);
    readerToken = (await issueApiToken(db, reader.id, { name: 'reader token' })).token;
  });
  afterAll(async () => {
    await site.stop();
  });

  async function counts(): Promise<Record<string, number>> {
    const db = site.site.database.db;
    const result: Record<string, number> = {};
    for (const table of tables) {
      const row = await db
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      result[table] = row.n;
    }
    return result;
  }

  /** Runs bad requests and checks that not one row changed anywhere. */
  async function nothingWritten(work: () => Promise<void>): Promise<void> {
    const before = await counts();
    await work();
    expect(await counts()).toEqual(before);
  }

  const post = (
    url: string,
    payload: string | Buffer,
    contentType = 'application/json',
    token: string | null = null,
  ) => site.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType }, token });

  it('malformed JSON is 400 ERR_MALFORMED_JSON on the management point and the admin API', async () => {
    await nothingWritten(async () => {
      expectError(await post(managementPointPaths.register, '{"registration": '), 400, 'ERR_MALFORMED_JSON');
      expectError(await post(managementPointPaths.reports, '{reports: []}'), 400, 'ERR_MALFORMED_JSON');
      expectError(await post(managementPointPaths.reports, ''), 400, 'ERR_MALFORMED_JSON');
      expectError(
        await post('/api/v1/collections', '{"name": "x",', 'application/json', site.token),
        400,
        'ERR_MALFORMED_JSON',
      );
    });
  });

  it('C6 oversized bodies are 413 ERR_TOO_LARGE before they are read', async () => {
    await nothingWritten(async () => {
      const registration = JSON.stringify({
        registration: 'x'.repeat(protocolLimits.maxEnvelopeBytes + 1024),
      });
      expectError(await post(managementPointPaths.register, registration), 413, 'ERR_TOO_LARGE');
      const reports = JSON.stringify({ reports: ['x'.repeat(protocolLimits.maxRequestBytes + 1024)] });
      expectError(await post(managementPointPaths.reports, reports), 413, 'ERR_TOO_LARGE');
      const collection = JSON.stringify({ name: 'big', description: 'x'.repeat(2 * 1024 * 1024) });
      expectError(
        await post('/api/v1/collections', collection, 'application/json', site.token),
        413,
        'ERR_TOO_LARGE',
      );
    });
  });

  it('C6 an envelope over its own limit inside an acceptable batch is rejected without being parsed', async () => {
    await nothingWritten(async () => {
      const response = await site.inject({
        method: 'POST',
        url: managementPointPaths.reports,
        payload: { reports: ['x'.repeat(protocolLimits.maxEnvelopeBytes + 1)] },
      });
      expectError(response, 400, 'ERR_INVALID_REQUEST');
    });
  });

  it('a body that is not JSON is 415 ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    await nothingWritten(async () => {
      const body = JSON.stringify({ registration: approved.registration() });
      expectError(
        await post(managementPointPaths.register, body, 'text/plain'),
        415,
        'ERR_UNSUPPORTED_MEDIA_TYPE',
      );
      expectError(
        await post(
          managementPointPaths.reports,
          JSON.stringify({ reports: [approved.heartbeat().encoded] }),
          'application/xml',
        ),
        415,
        'ERR_UNSUPPORTED_MEDIA_TYPE',
      );
      expectError(
        await post(
          '/api/v1/collections',
          JSON.stringify({ name: 'form' }),
          'application/x-www-form-urlencoded',
          site.token,
        ),
        415,
        'ERR_UNSUPPORTED_MEDIA_TYPE',
      );
    });
  });

  it('S1 unsigned, wrongly signed, tampered or malformed registrations are refused', async () => {
    await nothingWritten(async () => {
      const client = new TestClient('bad-registration');
      const register = (registration: unknown) =>
        site.site.app.inject({
          method: 'POST',
          url: managementPointPaths.register,
          payload: { registration },
        });
      expectError(await register(unsignedEnvelope(client.registration())), 400, 'ERR_ENVELOPE_INVALID');
      expectError(
        await register(client.registration({ signer: SigningKey.generate() })),
        401,
        'ERR_UNKNOWN_KEY',
      );
      expectError(
        await register(forgedEnvelope(client.registration(), client.id, SigningKey.generate())),
        401,
        'ERR_SIGNATURE_INVALID',
      );
      expectError(await register(tamperedEnvelope(client.registration())), 401, 'ERR_SIGNATURE_INVALID');
      expectError(await register(approved.heartbeat().encoded), 400, 'ERR_PAYLOAD_INVALID');
      expectError(await register('not an envelope'), 400, 'ERR_ENVELOPE_INVALID');
      expectError(await register(42), 400, 'ERR_INVALID_REQUEST');
      expectError(
        await site.site.app.inject({
          method: 'POST',
          url: managementPointPaths.register,
          payload: { registration: 'x', more: 1 },
        }),
        400,
        'ERR_INVALID_REQUEST',
      );
    });
  });

  it('S1 a replayed registration changes nothing: same answer, one client', async () => {
    const registration = approved.registration();
    await nothingWritten(async () => {
      for (let i = 0; i < 2; i += 1) {
        const response = await site.site.app.inject({
          method: 'POST',
          url: managementPointPaths.register,
          payload: { registration },
        });
        expect(response.json()).toEqual({ clientId: approved.id, state: 'approved' });
      }
    });
  });

  it('S2 replayed, unsigned, unknown-client and revoked-client reports are refused per report', async () => {
    const report = approved.heartbeat();
    const first = await site.inject({
      method: 'POST',
      url: managementPointPaths.reports,
      payload: { reports: [report.encoded] },
    });
    expect(reportBatchAnswerSchema.parse(first.json()).results[0]?.status).toBe('stored');
    await nothingWritten(async () => {
      const stranger = new TestClient('bad-stranger');
      const response = await site.inject({
        method: 'POST',
        url: managementPointPaths.reports,
        payload: {
          reports: [
            report.encoded,
            unsignedEnvelope(approved.heartbeat().encoded),
            stranger.heartbeat().encoded,
            revoked.heartbeat().encoded,
            approved.heartbeat({ signer: SigningKey.generate() }).encoded,
          ],
        },
      });
      expect(response.statusCode).toBe(200);
      expect(reportBatchAnswerSchema.parse(response.json()).results).toEqual([
        { messageId: report.messageId, status: 'duplicate', code: null },
        { messageId: null, status: 'rejected', code: 'ERR_ENVELOPE_INVALID' },
        { messageId: null, status: 'rejected', code: 'ERR_UNKNOWN_CLIENT' },
        { messageId: null, status: 'rejected', code: 'ERR_CLIENT_REVOKED' },
        { messageId: null, status: 'rejected', code: 'ERR_UNKNOWN_CLIENT' },
      ]);
    });
  });

  it('S1 C3 policy for unknown, revoked and malformed clients is refused', async () => {
    await nothingWritten(async () => {
      expectError(
        await site.inject({ method: 'GET', url: managementPointPaths.policy('b'.repeat(64)) }),
        404,
        'ERR_UNKNOWN_CLIENT',
      );
      expectError(
        await site.inject({ method: 'GET', url: managementPointPaths.policy(revoked.id) }),
        403,
        'ERR_CLIENT_REVOKED',
      );
      expectError(
        await site.inject({ method: 'GET', url: '/mp/v1/clients/..%2f..%2fsite.json/policy' }),
        400,
        'ERR_INVALID_REQUEST',
      );
      expectError(
        await site.inject({ method: 'GET', url: `/mp/v1/clients/${'c'.repeat(600)}/policy` }),
        400,
        'ERR_MALFORMED_REQUEST',
      );
      expectError(
        await site.inject({ method: 'GET', url: '/mp/v1/clients/%E0%A4%A/policy' }),
        400,
        'ERR_MALFORMED_REQUEST',
      );
    });
  });

  it('unknown endpoints and methods answer 404 ERR_NOT_FOUND as JSON', async () => {
    await nothingWritten(async () => {
      expectError(await site.inject({ method: 'GET', url: '/mp/v2/trust' }), 404, 'ERR_NOT_FOUND');
      expectError(
        await site.inject({ method: 'DELETE', url: managementPointPaths.trust }),
        404,
        'ERR_NOT_FOUND',
      );
      expectError(await site.inject({ method: 'GET', url: '/api/v1/no-such-thing' }), 404, 'ERR_NOT_FOUND');
      expectError(
        await site.inject({ method: 'GET', url: '/dp/v1/packages/none/1.0.0/manifest' }),
        404,
        'ERR_NOT_FOUND',
      );
    });
  });

  it('a path that climbs out of the content library is refused', async () => {
    await nothingWritten(async () => {
      for (const url of [
        '/dp/v1/packages/..%2F..%2F/1.0.0/manifest',
        '/dp/v1/packages/ABC-x/1.0.0/files/..%2F..%2F..%2Fsite.json',
        '/dp/v1/packages/ABC-x/1.0.0/files/%2Fetc%2Fpasswd',
      ]) {
        const response = await site.inject({ method: 'GET', url });
        expect({ url, status: response.statusCode }).toMatchObject({ url });
        expect(response.statusCode).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(response.json<{ error: { code: string } }>().error.code).toMatch(/^ERR_/);
      }
    });
  });

  it('every admin route answers 401 ERR_UNAUTHENTICATED without credentials', async () => {
    await nothingWritten(async () => {
      for (const route of adminRoutes) {
        const url = `/api/v1${route.path.replace(/:id/g, 'a'.repeat(64))}`;
        const response = await site.inject({
          method: route.method,
          url,
          token: null,
          ...(route.method === 'POST' ? { payload: {} } : {}),
        });
        expect({ route: `${route.method} ${route.path}`, status: response.statusCode }).toEqual({
          route: `${route.method} ${route.path}`,
          status: 401,
        });
        expectError(response, 401, 'ERR_UNAUTHENTICATED');
      }
    });
  });

  it('wrong, revoked-looking or malformed credentials are 401', async () => {
    await nothingWritten(async () => {
      const headers = [
        'Bearer stw_' + 'A'.repeat(43),
        'Bearer not-a-token',
        `Basic ${Buffer.from('admin:wrong password here').toString('base64')}`,
        'Basic !!!',
        'Digest username="admin"',
      ];
      for (const [index, authorization] of headers.entries()) {
        const response = await site.inject({
          method: 'GET',
          url: '/api/v1/site',
          token: null,
          headers: { authorization },
          remoteAddress: `192.0.2.${index + 100}`,
        });
        expectError(response, 401, 'ERR_UNAUTHENTICATED');
      }
      // The right password works, over Basic.
      const basic = await site.inject({
        method: 'GET',
        url: '/api/v1/site',
        token: null,
        headers: { authorization: `Basic ${Buffer.from(`admin:${site.password}`).toString('base64')}` },
      });
      expect(basic.statusCode).toBe(200);
    });
  });

  it('an account without the right gets 403 ERR_FORBIDDEN and changes nothing', async () => {
    await nothingWritten(async () => {
      const as = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
        site.inject({ method, url, token: readerToken, ...(payload === undefined ? {} : { payload }) });
      expect((await as('GET', '/api/v1/clients')).statusCode).toBe(200);
      expect((await as('GET', `/api/v1/clients/${approved.id}`)).statusCode).toBe(200);
      const forbidden: [string, string, unknown][] = [
        ['POST', '/api/v1/collections', { name: 'Not mine', clientIds: [] }],
        ['POST', `/api/v1/clients/${approved.id}/revoke`, undefined],
        ['POST', `/api/v1/clients/${revoked.id}/approve`, undefined],
        ['POST', '/api/v1/enrolment-tokens', {}],
        [
          'POST',
          '/api/v1/packages',
          { name: 'p', version: '1', sourcePath: '/tmp', programs: [{ name: 'a', commandLine: 'b' }] },
        ],
        ['POST', '/api/v1/deployments', { packageId: 'x', programName: 'y', collectionId: 'z' }],
        ['GET', '/api/v1/audit', undefined],
        ['GET', '/api/v1/audit/verify', undefined],
        ['GET', '/api/v1/collections', undefined],
        ['GET', '/api/v1/site', undefined],
      ];
      for (const [method, url, payload] of forbidden) {
        const response = await as(method as 'GET' | 'POST', url, payload);
        expect({ url, status: response.statusCode }).toEqual({ url, status: 403 });
        const body = expectError(response, 403, 'ERR_FORBIDDEN');
        expect(body.error.message).toContain('reader');
      }
    });
  });

  it('deploying needs distribute on the package and deploy on the collection as well (403)', async () => {
    const db = site.site.database.db;
    const deployer = await createAccount(db, { name: 'deployer', password: 'a long deployer password' });
    await grantRights(db, deployer.id, 'deployment', '*', ['create']);
    await grantRights(db, deployer.id, 'collection', '*', ['deploy']);
    const deployerToken = (await issueApiToken(db, deployer.id, { name: 'deployer token' })).token;
    await nothingWritten(async () => {
      const response = await site.inject({
        method: 'POST',
        url: '/api/v1/deployments',
        token: deployerToken,
        payload: { packageId: 'ABC-any', programName: 'Install', collectionId: 'col-any' },
      });
      const body = expectError(response, 403, 'ERR_FORBIDDEN');
      expect(body.error.message).toContain('distribute');
    });
  });

  it('invalid admin input is 400 ERR_INVALID_REQUEST with a message', async () => {
    await nothingWritten(async () => {
      const bad: [string, string, unknown][] = [
        ['POST', '/api/v1/collections', { name: '' }],
        ['POST', '/api/v1/collections', { name: 'x', unknownField: true }],
        ['POST', '/api/v1/collections', { name: 'x', clientIds: ['not-hex'] }],
        ['POST', '/api/v1/collections', { name: 'x', rule: 'os.family ==== "x"' }],
        ['POST', '/api/v1/collections/preview', { rule: 'client.nope = 1' }],
        [
          'POST',
          '/api/v1/packages',
          {
            name: 'p',
            version: '1.0',
            sourcePath: 'relative/path',
            programs: [{ name: 'a', commandLine: 'b' }],
          },
        ],
        [
          'POST',
          '/api/v1/packages',
          { name: 'p', version: '../1', sourcePath: '/tmp', programs: [{ name: 'a', commandLine: 'b' }] },
        ],
        [
          'POST',
          '/api/v1/deployments',
          { packageId: 'x', programName: 'y', collectionId: 'z', availableAt: 'tomorrow' },
        ],
        ['POST', '/api/v1/enrolment-tokens', { uses: 0 }],
        ['GET', '/api/v1/clients/not-a-client', undefined],
        ['GET', '/api/v1/clients?limit=100000', undefined],
        ['GET', '/api/v1/audit?after=-1', undefined],
      ];
      for (const [method, url, payload] of bad) {
        const response = await site.inject({
          method: method as 'GET' | 'POST',
          url,
          ...(payload === undefined ? {} : { payload }),
        });
        expect({ url, payload, status: response.statusCode }).toEqual({ url, payload, status: 400 });
        const body = response.json<{ error: { code: string; message: string } }>();
        expect(body.error.code).toMatch(/^ERR_(INVALID_REQUEST|RULE_SYNTAX|[A-Z_]+)$/);
        expect(body.error.message.length).toBeGreaterThan(0);
      }
      expectError(
        await site.inject({
          method: 'POST',
          url: '/api/v1/collections',
          payload: { name: 'x', unknownField: true },
        }),
        400,
        'ERR_INVALID_REQUEST',
      );
    });
  });

  it('unknown objects are 404 ERR_NOT_FOUND', async () => {
    await nothingWritten(async () => {
      for (const url of [
        `/api/v1/clients/${'d'.repeat(64)}`,
        '/api/v1/collections/col-missing',
        '/api/v1/packages/ABC-missing',
        '/api/v1/deployments/ABC-dep-missing',
        '/api/v1/jobs/job-missing',
      ]) {
        expectError(await site.inject({ method: 'GET', url }), 404, 'ERR_NOT_FOUND');
      }
      expectError(
        await site.inject({ method: 'POST', url: `/api/v1/clients/${'d'.repeat(64)}/approve` }),
        404,
        'ERR_NOT_FOUND',
      );
      expectError(
        await site.inject({
          method: 'POST',
          url: '/api/v1/collections/col-missing/members',
          payload: { clientIds: [approved.id] },
        }),
        404,
        'ERR_NOT_FOUND',
      );
      expectError(
        await site.inject({
          method: 'POST',
          url: '/api/v1/deployments',
          payload: { packageId: 'ABC-missing', programName: 'Install', collectionId: 'col-missing' },
        }),
        404,
        'ERR_NOT_FOUND',
      );
    });
  });
});
