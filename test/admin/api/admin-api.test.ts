import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRoutes } from '../../../src/admin/api/admin-api.js';
import { managementPointPaths, distributionPointPaths } from '../../../src/protocol/index.js';
import {
  acceptAssignments,
  envelopePayloadBytes,
  openDocument,
  parseEnvelope,
  parsePayload,
  publicKeyFromRecord,
  type VerifyingKey,
} from '../../../src/trust/index.js';
import { startTestSite, waitForJob, type TestSite } from '../../support/site-fixture.js';
import { fullInventory, TestClient } from '../../support/test-pki.js';

interface AuditItem {
  seq: number;
  actor: string;
  action: string;
  objectClass: string;
  objectId: string;
  details: Record<string, unknown>;
}

describe('admin API over a running site', () => {
  let site: TestSite;
  const first = new TestClient('adm-first');
  const second = new TestClient('adm-second');
  const ids: {
    collection?: string;
    ruleCollection?: string;
    package?: string;
    deployment?: string;
    job?: string;
  } = {};

  let siteKey: VerifyingKey;
  let mpKey: VerifyingKey;

  beforeAll(async () => {
    site = await startTestSite();
    // The keys certified in the trust bundle (C1 and C2 are checked in the trust tests).
    const bundle = (await site.site.app.inject({ method: 'GET', url: managementPointPaths.trust })).json<{
      siteCertificates: string[];
      mpCertificate: string;
    }>();
    const payloadOf = (encoded: string) => envelopePayloadBytes(parseEnvelope(encoded));
    siteKey = publicKeyFromRecord(
      parsePayload('site-certificate', payloadOf(bundle.siteCertificates[0] ?? '')).siteKey,
    );
    mpKey = publicKeyFromRecord(parsePayload('mp-certificate', payloadOf(bundle.mpCertificate)).mpKey);
    // Two agents register through the embedded management point: one with the init token, one without.
    for (const [client, token] of [
      [first, site.init.enrolmentToken],
      [second, null],
    ] as const) {
      const response = await site.site.app.inject({
        method: 'POST',
        url: managementPointPaths.register,
        payload: { registration: client.registration({ enrolmentToken: token }) },
      });
      expect(response.statusCode).toBe(200);
    }
  });
  afterAll(async () => {
    await site.stop();
  });

  async function auditLog(): Promise<AuditItem[]> {
    const response = await site.inject({ method: 'GET', url: '/api/v1/audit?limit=1000' });
    expect(response.statusCode).toBe(200);
    return response.json<{ items: AuditItem[] }>().items;
  }

  /** Runs a change and returns the audit entries it added. */
  async function audited(change: () => Promise<void>): Promise<AuditItem[]> {
    const before = (await auditLog()).length;
    await change();
    return (await auditLog()).slice(before);
  }

  it('answers the site overview with the init token, with the clients by state', async () => {
    const response = await site.inject({ method: 'GET', url: '/api/v1/site' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      code: 'ABC',
      type: 'central',
      url: site.site.url,
      clients: { approved: 1, pending: 1, revoked: 0 },
    });
  });

  it('imports a package as a job: 202, progress, then the signed manifest', async () => {
    const source = join(site.dir, 'source');
    await mkdir(join(source, 'bin'), { recursive: true });
    await writeFile(join(source, 'install.sh'), 'echo installed\n');
    await writeFile(join(source, 'bin', 'tool'), Buffer.alloc(70_000, 1));
    const entries = await audited(async () => {
      const response = await site.inject({
        method: 'POST',
        url: '/api/v1/packages',
        payload: {
          name: 'Editor',
          version: '1.0.0',
          sourcePath: source,
          programs: [{ name: 'Install', commandLine: 'sh install.sh' }],
        },
      });
      expect(response.statusCode).toBe(202);
      const job = response.json<{ id: string; state: string; kind: string }>();
      expect(job).toMatchObject({ kind: 'package-import' });
      ids.job = job.id;
      const done = await waitForJob(site, job.id);
      expect(done.state).toBe('succeeded');
      const result = done.result as {
        packageId: string;
        manifest: string;
        manifestHash: string;
        fileCount: number;
      };
      expect(result.fileCount).toBe(2);
      ids.package = result.packageId;
      const manifest = openDocument(
        'content-manifest',
        result.manifest,
        // The site key is certified in the trust bundle; the manifest must open with it.
        [siteKey],
        1,
        new Date(),
      );
      expect(manifest.hash).toBe(result.manifestHash);
      expect(manifest.payload.files.map((f) => f.path).sort()).toEqual(['bin/tool', 'install.sh']);
    });
    expect(entries).toMatchObject([
      { actor: 'admin', action: 'package.import', objectClass: 'package', objectId: ids.package },
    ]);
    const listed = await site.inject({ method: 'GET', url: '/api/v1/packages' });
    expect(listed.json<{ items: { packageId: string; version: string }[] }>().items).toEqual([
      expect.objectContaining({ packageId: ids.package, version: '1.0.0' }),
    ]);
  });

  it('a failed import is a failed job with a stable code, and nothing is audited', async () => {
    const entries = await audited(async () => {
      const response = await site.inject({
        method: 'POST',
        url: '/api/v1/packages',
        payload: {
          name: 'Missing',
          version: '1.0.0',
          sourcePath: join(site.dir, 'no-such-folder'),
          programs: [{ name: 'Install', commandLine: 'true' }],
        },
      });
      expect(response.statusCode).toBe(202);
      const done = await waitForJob(site, response.json<{ id: string }>().id);
      expect(done.state).toBe('failed');
      expect(done.error).toMatchObject({ code: expect.stringMatching(/^ERR_[A-Z_]+$/) as string });
    });
    expect(entries).toEqual([]);
  });

  it('creates collections by direct membership and by rule', async () => {
    const entries = await audited(async () => {
      const direct = await site.inject({
        method: 'POST',
        url: '/api/v1/collections',
        payload: { name: 'Pilot', clientIds: [first.id] },
      });
      expect(direct.statusCode).toBe(201);
      expect(direct.json()).toMatchObject({ name: 'Pilot', memberCount: 1 });
      ids.collection = direct.json<{ id: string }>().id;
      const rule = await site.inject({
        method: 'POST',
        url: '/api/v1/collections',
        payload: { name: 'Second', rule: 'client.hostname = "adm-second"' },
      });
      expect(rule.statusCode).toBe(201);
      expect(rule.json()).toMatchObject({ memberCount: 1 });
      ids.ruleCollection = rule.json<{ id: string }>().id;
    });
    expect(entries.map((e) => [e.action, e.objectId])).toEqual([
      ['collection.create', ids.collection],
      ['collection.create', ids.ruleCollection],
    ]);
    const preview = await site.inject({
      method: 'POST',
      url: '/api/v1/collections/preview',
      payload: { rule: 'client.hostname ~ "adm-*"' },
    });
    expect(preview.json()).toMatchObject({ count: 2 });
  });

  it('C3 creates a deployment: the approved member is targeted and its next poll carries the policy', async () => {
    // The member polls first, so its (empty) list is cached in the management point.
    const before = await site.site.app.inject({ method: 'GET', url: managementPointPaths.policy(first.id) });
    const context = {
      mpKey,
      clientId: first.id,
      siteCode: 'ABC',
      lastSequence: null,
      now: new Date(),
    };
    expect(acceptAssignments(before.body, context).payload.assignments).toEqual([]);
    const entries = await audited(async () => {
      const response = await site.inject({
        method: 'POST',
        url: '/api/v1/deployments',
        payload: {
          packageId: ids.package,
          programName: 'Install',
          collectionId: ids.collection,
          mandatory: true,
        },
      });
      expect(response.statusCode).toBe(201);
      const deployment = response.json<{
        id: string;
        summary: { targeted: number };
        mandatoryAt: string | null;
      }>();
      ids.deployment = deployment.id;
      expect(deployment.summary.targeted).toBe(1);
      expect(deployment.mandatoryAt).not.toBeNull();
    });
    expect(entries).toMatchObject([
      { action: 'deployment.create', objectClass: 'deployment', objectId: ids.deployment },
    ]);
    const after = await site.site.app.inject({
      method: 'GET',
      url: managementPointPaths.policy(first.id),
      headers: { 'if-none-match': String(before.headers['etag']) },
    });
    expect(after.statusCode).toBe(200);
    const list = acceptAssignments(after.body, { ...context, lastSequence: 1 }).payload;
    expect(list.assignments).toHaveLength(1);
  });

  it('S1 approving and revoking clients is audited and moves the targeted count', async () => {
    const added = await audited(async () => {
      const response = await site.inject({
        method: 'POST',
        url: `/api/v1/collections/${ids.collection ?? ''}/members`,
        payload: { clientIds: [second.id] },
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ memberCount: 2 });
    });
    expect(added).toMatchObject([{ action: 'collection.add-members', objectId: ids.collection }]);
    const targeted = async () =>
      (await site.inject({ method: 'GET', url: `/api/v1/deployments/${ids.deployment ?? ''}` })).json<{
        summary: { targeted: number };
      }>().summary.targeted;
    expect(await targeted()).toBe(1);
    const approval = await audited(async () => {
      const response = await site.inject({ method: 'POST', url: `/api/v1/clients/${second.id}/approve` });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ state: 'approved' });
    });
    expect(approval).toMatchObject([
      { action: 'client.approve', objectId: second.id, details: { from: 'pending', to: 'approved' } },
    ]);
    expect(await targeted()).toBe(2);
    const revocation = await audited(async () => {
      const response = await site.inject({ method: 'POST', url: `/api/v1/clients/${second.id}/revoke` });
      expect(response.json()).toMatchObject({ state: 'revoked' });
    });
    expect(revocation).toMatchObject([
      { action: 'client.revoke', details: { from: 'approved', to: 'revoked' } },
    ]);
    expect(await targeted()).toBe(1);
    const poll = await site.site.app.inject({ method: 'GET', url: managementPointPaths.policy(second.id) });
    expect(poll.statusCode).toBe(403);
  });

  it('S1 approving a revoked client is a conflict: revocation is final, and nothing is audited', async () => {
    const entries = await audited(async () => {
      const response = await site.inject({ method: 'POST', url: `/api/v1/clients/${second.id}/approve` });
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ error: { code: 'ERR_CONFLICT' } });
    });
    expect(entries).toEqual([]);
    const detail = await site.inject({ method: 'GET', url: `/api/v1/clients/${second.id}` });
    expect(detail.json()).toMatchObject({ client: { state: 'revoked' } });
  });

  it('C3 inventory that makes a client match a rule brings the deployment of that collection to its next poll', async () => {
    const created = await site.inject({
      method: 'POST',
      url: '/api/v1/collections',
      payload: { name: 'Plan 9 machines', rule: 'os.family = "plan9"' },
    });
    expect(created.json()).toMatchObject({ memberCount: 0 });
    const collectionId = created.json<{ id: string }>().id;
    const deployed = await site.inject({
      method: 'POST',
      url: '/api/v1/deployments',
      payload: { packageId: ids.package, programName: 'Install', collectionId },
    });
    expect(deployed.statusCode).toBe(201);
    const policyId = deployed.json<{ policyId: string }>().policyId;
    const poll = () => site.site.app.inject({ method: 'GET', url: managementPointPaths.policy(first.id) });
    const before = await poll();
    const assigned = (body: string) =>
      acceptAssignments(body, {
        mpKey,
        clientId: first.id,
        siteCode: 'ABC',
        lastSequence: null,
        now: new Date(),
      }).payload.assignments.map((a) => a.policyId);
    expect(assigned(before.body)).not.toContain(policyId);

    const report = first.inventory(fullInventory({ 'os.family': 'plan9' }));
    const stored = await site.site.app.inject({
      method: 'POST',
      url: managementPointPaths.reports,
      payload: { reports: [report.encoded] },
    });
    expect(stored.json()).toMatchObject({ results: [{ status: 'stored' }] });
    // The inbox processor applies it, the collection evaluator re-evaluates the client (debounced),
    // and the management point drops the client's cached list.
    const deadline = Date.now() + 15_000;
    let after = assigned(before.body);
    while (!after.includes(policyId) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = assigned((await poll()).body);
    }
    expect(after).toContain(policyId);
    const summary = await site.inject({
      method: 'GET',
      url: `/api/v1/deployments/${deployed.json<{ id: string }>().id}`,
    });
    expect(summary.json()).toMatchObject({ summary: { targeted: 1 } });
  });

  it('creates an enrolment token (shown once) and audits it without the token', async () => {
    let token = '';
    const entries = await audited(async () => {
      const response = await site.inject({
        method: 'POST',
        url: '/api/v1/enrolment-tokens',
        payload: { description: 'lab', uses: 3, validHours: 2 },
      });
      expect(response.statusCode).toBe(201);
      token = response.json<{ token: string }>().token;
      expect(token).toMatch(/^enr_/);
    });
    expect(entries).toMatchObject([{ action: 'enrolment-token.create', details: { uses: 3 } }]);
    expect(JSON.stringify(entries)).not.toContain(token);
  });

  it('every change is in the audit log and the hash chain verifies', async () => {
    const log = await auditLog();
    expect(log.map((e) => e.action)).toEqual([
      'site.init',
      'package.import',
      'collection.create',
      'collection.create',
      'deployment.create',
      'collection.add-members',
      'client.approve',
      'client.revoke',
      'collection.create',
      'deployment.create',
      'enrolment-token.create',
    ]);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, index) => index + 1));
    const verify = await site.inject({ method: 'GET', url: '/api/v1/audit/verify' });
    expect(verify.statusCode).toBe(200);
    expect(verify.json()).toMatchObject({ ok: true, entries: log.length });
  });

  it('the OpenAPI document lists every route of the route table, without credentials', async () => {
    const response = await site.inject({ method: 'GET', url: '/api/v1/openapi.json', token: null });
    expect(response.statusCode).toBe(200);
    const document = response.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(document.openapi).toBe('3.1.0');
    const listed = Object.entries(document.paths)
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
      )
      .sort();
    const declared = adminRoutes
      .map((route) => `${route.method} /api/v1${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`)
      .sort();
    expect(listed).toEqual(declared);
    expect(declared.length).toBeGreaterThanOrEqual(20);
  });

  it('every GET route answers, and no answer of any endpoint holds private key material or secrets', async () => {
    const keysDir = join(site.dataDir, 'keys');
    const secrets: string[] = [
      'privateKey',
      'BEGIN PRIVATE',
      'PRIVATE KEY',
      'password_hash',
      'token_hash',
      'passwordHash',
    ];
    secrets.push((await readFile(join(keysDir, 'key-secret'), 'utf8')).trim());
    for (const name of await readdir(keysDir)) {
      if (!name.endsWith('.key')) continue;
      const file = JSON.parse(await readFile(join(keysDir, name), 'utf8')) as {
        ciphertext: string;
        tag: string;
        iv: string;
      };
      secrets.push(file.ciphertext, file.tag);
    }
    secrets.push(site.password, site.token, site.token.slice(4));

    const params: Record<string, string> = {
      '/clients/:id': first.id,
      '/collections/:id': ids.collection ?? '',
      '/packages/:id': ids.package ?? '',
      '/deployments/:id': ids.deployment ?? '',
      '/jobs/:id': ids.job ?? '',
    };
    const urls: string[] = [];
    for (const route of adminRoutes.filter((r) => r.method === 'GET')) {
      const prefix = Object.keys(params).find((p) => route.path.startsWith(p.replace('/:id', '/:')));
      const path = prefix === undefined ? route.path : route.path.replace(':id', params[prefix] ?? '');
      urls.push(`/api/v1${path}`);
    }
    const policy = await site.site.app.inject({ method: 'GET', url: managementPointPaths.policy(first.id) });
    const assignment = acceptAssignments(policy.body, {
      mpKey,
      clientId: first.id,
      siteCode: 'ABC',
      lastSequence: null,
      now: new Date(),
    }).payload.assignments[0]!;
    urls.push(
      '/api/v1/openapi.json',
      managementPointPaths.trust,
      managementPointPaths.policy(first.id),
      managementPointPaths.policyBody(assignment.policyId, assignment.version),
      distributionPointPaths.manifest(ids.package ?? '', '1.0.0'),
      distributionPointPaths.file(ids.package ?? '', '1.0.0', 'install.sh'),
      '/health',
    );
    for (const url of urls) {
      const response = await site.inject({ method: 'GET', url });
      expect({ url, status: response.statusCode }).toEqual({ url, status: 200 });
      for (const secret of secrets) {
        expect({ url, leaks: response.body.includes(secret) }).toEqual({ url, leaks: false });
      }
    }
  });
});
