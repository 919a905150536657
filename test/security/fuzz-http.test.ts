/**
 * Issue 5, fuzzing: an HTTP fuzz pass over every endpoint of a site (the admin API from
 * `adminRoutes`, the management point, distribution point and server locator paths from
 * src/protocol/paths.ts, the console and health), in-process through `app.inject` for speed. Each
 * case is a valid request, or one mutated in its body, path, query, headers or method, with random
 * and hostile values (fast-check, fixed seed). Properties: no answer is a 5xx, every error answer
 * is the JSON error body, and nothing ends up as an unhandled rejection; the site still answers a
 * normal poll at the end.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRoutes } from '../../src/admin/api/admin-api.js';
import {
  distributionPointPaths,
  errorBodySchema,
  managementPointPaths,
  serverLocatorPaths,
} from '../../src/protocol/index.js';
import {
  acceptAssignments,
  envelopePayloadBytes,
  parseEnvelope,
  parsePayload,
  publicKeyFromRecord,
} from '../../src/trust/index.js';
import { FuzzTally, hostileJson, mutated, type Json } from '../support/fuzz.js';
import { startTestSite, waitForJob, type TestSite } from '../support/site-fixture.js';
import { TestClient } from '../support/test-pki.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface Template {
  /** Route name for the tally: "GET /api/v1/clients/:id". */
  readonly name: string;
  readonly method: Method;
  /** Path segments; `{ param: value }` marks a segment a mutation may replace. */
  readonly path: readonly (string | { param: string })[];
  readonly query?: Record<string, string>;
  readonly body?: Json;
  /** admin: the administrator's token; none: no credentials (client-facing endpoints). */
  readonly auth: 'admin' | 'none';
  readonly headers?: Record<string, string>;
}

const tally = new FuzzTally();
let site: TestSite;
let source: string;
const clients = [new TestClient('fuzz-1'), new TestClient('fuzz-2')];
/** Registered but named by no template, so no fuzz case revokes it: it polls at the end. */
const witness = new TestClient('fuzz-witness');
const ids: Record<string, string> = {};
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

async function json<T>(response: { statusCode: number; body: string }, status: number): Promise<T> {
  expect(response.statusCode, response.body.slice(0, 300)).toBe(status);
  return Promise.resolve(JSON.parse(response.body) as T);
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  site = await startTestSite();
  source = await mkdtemp(join(tmpdir(), 'steward-fuzz-source-'));
  await mkdir(join(source, 'bin'));
  await writeFile(join(source, 'install.sh'), 'echo fuzz\n');
  await writeFile(join(source, 'bin', 'tool'), 'tool\n');
  for (const client of [...clients, witness]) {
    await json(
      await site.site.app.inject({
        method: 'POST',
        url: managementPointPaths.register,
        payload: { registration: client.registration({ enrolmentToken: site.init.enrolmentToken }) },
      }),
      200,
    );
  }
  ids['client'] = clients[0]?.id ?? '';
  const job = await json<{ id: string }>(
    await site.inject({
      method: 'POST',
      url: '/api/v1/packages',
      payload: {
        name: 'fuzz',
        version: '1.0',
        sourcePath: source,
        programs: [{ name: 'install', commandLine: 'sh install.sh' }],
      },
    }),
    202,
  );
  ids['job'] = job.id;
  const done = await waitForJob(site, job.id);
  ids['package'] = (done.result as { packageId: string }).packageId;
  ids['collection'] = (
    await json<{ id: string }>(
      await site.inject({
        method: 'POST',
        url: '/api/v1/collections',
        payload: { name: 'fuzz', clientIds: clients.map((c) => c.id) },
      }),
      201,
    )
  ).id;
  ids['deployment'] = (
    await json<{ id: string }>(
      await site.inject({
        method: 'POST',
        url: '/api/v1/deployments',
        payload: {
          packageId: ids['package'],
          programName: 'install',
          collectionId: ids['collection'],
          mandatory: true,
        },
      }),
      201,
    )
  ).id;
  ids['boundary'] = (
    await json<{ id: string }>(
      await site.inject({ method: 'POST', url: '/api/v1/boundaries', payload: { value: '127.0.0.0/8' } }),
      201,
    )
  ).id;
  await site.site.managementPoint.settled();
  const policy = await site.site.app.inject({
    method: 'GET',
    url: managementPointPaths.policy(ids['client']),
  });
  const list = acceptAssignments(policy.body, {
    mpKey: await mpKey(),
    clientId: ids['client'],
    siteCode: site.init.siteCode,
    lastSequence: null,
    now: new Date(),
  }).payload;
  const assignment = list.assignments[0];
  if (assignment === undefined) throw new Error('the fuzz client has no assignment');
  ids['policy'] = assignment.policyId;
  ids['policyVersion'] = String(assignment.version);
});

/** The MP key the site certified, read from its trust bundle. */
async function mpKey() {
  const { mpCertificate } = JSON.parse(
    (await site.site.app.inject({ method: 'GET', url: managementPointPaths.trust })).body,
  ) as { mpCertificate: string };
  return publicKeyFromRecord(
    parsePayload('mp-certificate', envelopePayloadBytes(parseEnvelope(mpCertificate))).mpKey,
  );
}

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await (site as TestSite | undefined)?.stop();
  if ((source as string | undefined) !== undefined) await rm(source, { recursive: true, force: true });
});

/** Valid bodies and queries per admin route; a route with a body and no entry here fails the coverage test. */
function adminBody(key: string, client: TestClient): Json | undefined {
  const bodies: Record<string, Json> = {
    'POST /enrolment-tokens': { description: 'fuzz', uses: 2, validHours: 1 },
    'POST /boundaries': { value: '10.9.0.0/16', kind: 'subnet', description: 'fuzz' },
    'POST /collections': {
      name: 'fuzz collection',
      description: '',
      rule: 'os.family = "linux"',
      clientIds: [client.id],
    },
    'POST /collections/preview': { rule: 'client.hostname like "fuzz*"' },
    'POST /collections/:id/members': { clientIds: [client.id] },
    'POST /packages': {
      name: 'fuzz-import',
      version: '2.0',
      sourcePath: source,
      programs: [
        {
          name: 'install',
          commandLine: 'sh install.sh',
          timeLimitSeconds: 60,
          elevated: false,
          successExitCodes: [0],
        },
      ],
    },
    'POST /deployments': {
      name: 'fuzz deployment',
      packageId: ids['package'] ?? '',
      packageVersion: '1.0',
      programName: 'install',
      collectionId: ids['collection'] ?? '',
      availableAt: new Date().toISOString(),
      mandatoryAt: null,
      expiresAt: null,
      mandatory: true,
      rerun: 'never',
    },
    'PUT /deployments/:id': { state: 'active', mandatoryAt: null, expiresAt: null, rerun: 'if-failed' },
    'POST /directory/group-rights/grant': {
      groupDn: 'CN=Steward Operators,OU=Groups,DC=example,DC=test',
      objectClass: 'collection',
      instanceId: '*',
      rights: ['read'],
    },
    'POST /directory/group-rights/revoke': {
      groupDn: 'CN=Steward Operators,OU=Groups,DC=example,DC=test',
      objectClass: 'collection',
      instanceId: '*',
      rights: ['read'],
    },
  };
  return bodies[key];
}

const adminQueries: Record<string, Record<string, string>> = {
  'GET /audit': { after: '0', limit: '10' },
  'GET /boundaries': { siteCode: 'ABC' },
  'GET /clients': { limit: '10', search: 'fuzz', state: 'approved' },
  'GET /collections/:id/members': { limit: '10' },
  'GET /packages/:id': { version: '1.0' },
  'GET /deployments/:id/clients': { limit: '10' },
  'GET /status-messages': { limit: '10', severity: 'info', statusId: '10002' },
};

function templates(): Template[] {
  const list: Template[] = [];
  const paramValue: Record<string, string> = {
    '/boundaries/:id': ids['boundary'] ?? '',
    '/clients/:id': ids['client'] ?? '',
    '/collections/:id': ids['collection'] ?? '',
    '/packages/:id': ids['package'] ?? '',
    '/jobs/:id': ids['job'] ?? '',
    '/deployments/:id': ids['deployment'] ?? '',
  };
  for (const route of adminRoutes) {
    const key = `${route.method} ${route.path}`;
    const prefix = Object.keys(paramValue).find((p) => route.path.startsWith(p.replace('/:id', '/:')));
    const segments = ['api', 'v1', ...route.path.split('/').filter((s) => s !== '')].map((segment) =>
      segment === ':id' ? { param: paramValue[prefix ?? ''] ?? '' } : segment,
    );
    let body = route.body === undefined ? undefined : adminBody(key, clients[1] ?? clients[0]!);
    if (route.body !== undefined && body === undefined) {
      // A route added since this file was written: fuzzed from an empty body (add a valid one above).
      untemplated.add(key);
      body = {};
    }
    list.push({
      name: `${route.method} /api/v1${route.path}`,
      method: route.method,
      path: segments,
      ...(adminQueries[key] === undefined ? {} : { query: adminQueries[key] }),
      ...(body === undefined ? {} : { body }),
      auth: 'admin',
    });
  }
  const client = clients[0]!;
  const mp: Record<keyof typeof managementPointPaths, Template> = {
    trust: { name: 'GET /mp/v1/trust', method: 'GET', path: ['mp', 'v1', 'trust'], auth: 'none' },
    register: {
      name: 'POST /mp/v1/register',
      method: 'POST',
      path: ['mp', 'v1', 'register'],
      body: { registration: client.registration() },
      auth: 'none',
    },
    policy: {
      name: 'GET /mp/v1/clients/:id/policy',
      method: 'GET',
      path: ['mp', 'v1', 'clients', { param: client.id }, 'policy'],
      auth: 'none',
      headers: { 'if-none-match': '"0"' },
    },
    policyBody: {
      name: 'GET /mp/v1/policy-bodies/:id/:version',
      method: 'GET',
      path: [
        'mp',
        'v1',
        'policy-bodies',
        { param: ids['policy'] ?? '' },
        { param: ids['policyVersion'] ?? '1' },
      ],
      auth: 'none',
    },
    clientCertificate: {
      name: 'POST /mp/v1/clients/:id/certificate',
      method: 'POST',
      path: ['mp', 'v1', 'clients', { param: client.id }, 'certificate'],
      // A plain-HTTP site issues no client certificates (404); the body only has to be shaped right.
      body: { request: client.registration() },
      auth: 'none',
    },
    reports: {
      name: 'POST /mp/v1/reports',
      method: 'POST',
      path: ['mp', 'v1', 'reports'],
      body: { reports: [client.heartbeat().encoded, client.status([]).encoded] },
      auth: 'none',
    },
  };
  const dp: Record<keyof typeof distributionPointPaths, Template> = {
    manifest: {
      name: 'GET /dp/v1/packages/:id/:version/manifest',
      method: 'GET',
      path: ['dp', 'v1', 'packages', { param: ids['package'] ?? '' }, { param: '1.0' }, 'manifest'],
      auth: 'none',
    },
    file: {
      name: 'GET /dp/v1/packages/:id/:version/files/*',
      method: 'GET',
      path: [
        'dp',
        'v1',
        'packages',
        { param: ids['package'] ?? '' },
        { param: '1.0' },
        'files',
        { param: 'bin' },
        { param: 'tool' },
      ],
      auth: 'none',
      headers: { range: 'bytes=1-' },
    },
  };
  const slp: Record<keyof typeof serverLocatorPaths, Template> = {
    locate: {
      name: 'POST /slp/v1/locate',
      method: 'POST',
      path: ['slp', 'v1', 'locate'],
      body: { addresses: ['127.0.0.1', '::1', 'fe80::1%eth0'] },
      auth: 'none',
    },
  };
  list.push(...Object.values(mp), ...Object.values(dp), ...Object.values(slp));
  list.push(
    { name: 'GET /health', method: 'GET', path: ['health'], auth: 'none' },
    { name: 'GET /api/v1/openapi.json', method: 'GET', path: ['api', 'v1', 'openapi.json'], auth: 'none' },
    { name: 'GET /console/*', method: 'GET', path: ['console', { param: 'clients' }], auth: 'none' },
    { name: 'GET /', method: 'GET', path: [], auth: 'none' },
    {
      name: 'POST /console/session',
      method: 'POST',
      path: ['console', 'session'],
      auth: 'none',
      headers: { authorization: `Basic ${Buffer.from('admin:wrong password!').toString('base64')}` },
    },
    { name: 'DELETE /console/session', method: 'DELETE', path: ['console', 'session'], auth: 'admin' },
  );
  return list;
}

/** What a mutation may put in a path segment, a query value or a header. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 600, unit: 'grapheme' }),
  fc.constantFrom(
    '..',
    '.',
    '%2e%2e',
    '..%2f..%2fkeys',
    '%00',
    '%',
    '%E0%A4%A',
    '%ff',
    'a'.repeat(513),
    '-1',
    '0',
    '1e99',
    'NaN',
    'null',
    '__proto__',
    'constructor',
    '*',
    '\\',
    'ABC-00000000',
    'b'.repeat(64),
  ),
);

const headerValue = fc.oneof(
  fc.string({ maxLength: 60, unit: 'grapheme-ascii' }),
  fc.constantFrom(
    'bytes=0-0',
    'bytes=-1',
    'bytes=5-1',
    'bytes=0-',
    'bytes=99999999999999999999-',
    'bytes=0-1,2-3',
    'W/"x"',
    '*',
  ),
);

interface Mutation {
  body: 'valid' | 'mutated' | 'hostile' | 'text' | 'none';
  hostile: Json;
  text: string;
  contentType: string | undefined;
  param: { index: number; value: string } | undefined;
  query: [string, string][] | undefined;
  auth: 'keep' | 'none' | 'random' | 'basic';
  authText: string;
  headers: [string, string][];
  method: Method | undefined;
}

/** `arbitrary` in one case out of `every`, otherwise undefined (fc.option's freq works the other way round). */
const sometimes = <T>(arbitrary: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: every - 1 }, { arbitrary, weight: 1 });

const mutation: fc.Arbitrary<Mutation> = fc.record({
  body: fc.constantFrom('valid', 'mutated', 'mutated', 'hostile', 'text', 'none'),
  hostile: hostileJson,
  text: fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.constantFrom('{', '{"a":', '[]', 'null', '"x"', '{}', '\u0000'),
  ),
  contentType: sometimes(
    fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/json; charset=latin1',
      '',
    ),
    3,
  ),
  param: sometimes(fc.record({ index: fc.nat(7), value: hostileText }), 3),
  query: sometimes(
    fc.array(
      fc.tuple(
        fc.constantFrom(
          'limit',
          'after',
          'before',
          'version',
          'search',
          'state',
          'statusId',
          'severity',
          'siteCode',
          'clientId',
          'deploymentId',
          'x',
        ),
        hostileText,
      ),
      { maxLength: 4 },
    ),
    3,
  ),
  auth: fc.constantFrom('keep', 'keep', 'keep', 'none', 'random', 'basic'),
  authText: fc.string({ maxLength: 80 }),
  headers: fc.array(
    fc.tuple(
      fc.constantFrom(
        'if-none-match',
        'range',
        'accept',
        'accept-encoding',
        'x-forwarded-for',
        'if-range',
        'content-encoding',
        'expect',
      ),
      headerValue,
    ),
    { maxLength: 3 },
  ),
  method: sometimes(fc.constantFrom<Method>('GET', 'POST', 'PUT', 'DELETE'), 8),
});

let registrations = 0;
/** Admin routes with a body but no valid template in adminBody (printed; fuzzed from `{}`). */
const untemplated = new Set<string>();

async function send(template: Template, m: Mutation, mutatedBody: Json | undefined) {
  // A path mutation replaces one parameter segment (URL-encoded, or now and then raw so the router
  // sees odd characters too); rarely a fixed segment, which the router answers 404.
  const params = template.path.flatMap((segment, index) => (typeof segment === 'string' ? [] : [index]));
  const target =
    m.param === undefined
      ? -1
      : m.param.index === 7 || params.length === 0
        ? m.param.index % Math.max(1, template.path.length)
        : (params[m.param.index % params.length] ?? -1);
  const segments = template.path.map((segment, index) => {
    if (index === target && m.param !== undefined) {
      return m.param.index % 3 === 0
        ? m.param.value.replace(/[\s#?/]/g, '_')
        : encodeURIComponent(m.param.value);
    }
    return typeof segment === 'string' ? segment : encodeURIComponent(segment.param);
  });
  const query = new URLSearchParams(template.query ?? {});
  for (const [key, value] of m.query ?? []) query.set(key, value);
  const queryText = query.toString();
  const url = `/${segments.join('/')}${queryText === '' ? '' : `?${queryText}`}`;

  const headers: Record<string, string> = { ...template.headers };
  for (const [name, value] of m.headers) headers[name] = value;
  let remoteAddress = '127.0.0.1';
  if (template.auth === 'admin' && m.auth === 'keep') headers['authorization'] = `Bearer ${site.token}`;
  else if (m.auth === 'random' || m.auth === 'basic') {
    headers['authorization'] =
      m.auth === 'basic' ? `Basic ${Buffer.from(m.authText).toString('base64')}` : m.authText;
    // Failed logins come from their own address, so the limiter never locks out the valid token.
    remoteAddress = '192.0.2.200';
  }
  if (template.name === 'POST /mp/v1/register') {
    registrations += 1;
    remoteAddress = `198.18.${Math.floor(registrations / 200) % 250}.${(registrations % 200) + 1}`;
  }

  let payload: string | undefined;
  let body: Json | undefined;
  if (m.body === 'valid') body = template.body;
  else if (m.body === 'mutated') body = mutatedBody;
  else if (m.body === 'hostile') body = m.hostile;
  if (body !== undefined) {
    // The importer reads the server's disk: never let a mutation point it at a real folder.
    const sourcePath = (body as { sourcePath?: unknown } | null)?.sourcePath;
    if (typeof sourcePath === 'string' && isAbsolute(sourcePath) && sourcePath !== source)
      (body as { sourcePath: string }).sourcePath = `/nonexistent-fuzz${sourcePath}`;
    payload = JSON.stringify(body);
    headers['content-type'] ??= m.contentType ?? 'application/json';
  } else if (m.body === 'text') {
    payload = m.text;
    if (m.contentType !== undefined) headers['content-type'] = m.contentType;
  }
  if (m.contentType !== undefined && payload !== undefined) headers['content-type'] = m.contentType;
  if (headers['content-type'] === '') delete headers['content-type'];
  const method = m.method ?? template.method;
  return {
    url,
    method,
    response: await site.site.app.inject({
      method,
      url,
      headers,
      remoteAddress,
      ...(payload === undefined || method === 'GET' ? {} : { payload }),
    }),
  };
}

describe('fuzz: every client-facing and admin endpoint over HTTP (app.inject)', () => {
  it('covers every admin route and every path of src/protocol/paths.ts', () => {
    const names = templates().map((t) => t.name);
    for (const route of adminRoutes) expect(names).toContain(`${route.method} /api/v1${route.path}`);
    expect(names.filter((n) => n.includes('/mp/v1/'))).toHaveLength(Object.keys(managementPointPaths).length);
    expect(names.filter((n) => n.includes('/dp/v1/'))).toHaveLength(
      Object.keys(distributionPointPaths).length,
    );
    expect(names.filter((n) => n.includes('/slp/v1/'))).toHaveLength(Object.keys(serverLocatorPaths).length);
  });

  it(
    'random and mutated requests: no 5xx, every error is a JSON error body, no unhandled rejection',
    { timeout: 240_000 },
    async () => {
      const all = templates();
      const statuses = new Map<number, number>();
      const failures: string[] = [];
      const perRoute = 80;
      for (const template of all) {
        await tally.assertAsync(
          template.name,
          fc.asyncProperty(
            mutation,
            template.body === undefined ? fc.constant(undefined) : mutated(template.body),
            async (m, mutatedBody) => {
              const { url, method, response } = await send(template, m, mutatedBody);
              statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
              if (response.statusCode >= 500)
                failures.push(
                  `${method} ${url.slice(0, 200)} -> ${response.statusCode} ${response.body.slice(0, 200)}`,
                );
              expect({ method, url: url.slice(0, 300), status: response.statusCode < 500 }).toEqual({
                method,
                url: url.slice(0, 300),
                status: true,
              });
              if (response.statusCode >= 400) {
                expect(response.headers['content-type']).toMatch(/^application\/json/);
                expect(errorBodySchema.safeParse(JSON.parse(response.body)).success).toBe(true);
              }
            },
          ),
          perRoute,
        );
      }
      await site.site.managementPoint.settled();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
      expect(failures).toEqual([]);
      // The site still serves a normal poll and a report.
      const poll = await site.site.app.inject({
        method: 'GET',
        url: managementPointPaths.policy(witness.id),
      });
      expect(poll.statusCode).toBe(200);
      const report = await site.site.app.inject({
        method: 'POST',
        url: managementPointPaths.reports,
        payload: { reports: [witness.heartbeat().encoded] },
      });
      expect(report.statusCode).toBe(200);
      console.log(
        `${tally.summary('HTTP fuzzing')}\n  statuses: ${JSON.stringify(Object.fromEntries([...statuses.entries()].sort((a, b) => a[0] - b[0])))}`,
      );
    },
  );
});
