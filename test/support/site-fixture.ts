/**
 * Reusable sites for tests: seed data written through the real stores, a management point on a
 * Fastify app over a test database (for `inject`), and a whole central site created by
 * `initCentralSite` and run by `startSiteServer` in a temporary folder.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import type { Kysely, KyselyPlugin } from 'kysely';
import pg from 'pg';
import { expect } from 'vitest';
import { ManagementPoint } from '../../src/roles/management-point/management-point.js';
import { registerClient, setClientState } from '../../src/site/clients/client-store.js';
import type { SiteDatabase } from '../../src/site/database/schema.js';
import type { SiteDb } from '../../src/site/database/site-db.js';
import { createDeployment, type DeploymentRecord } from '../../src/site/deployments/deployment-store.js';
import { frameworkErrors, installErrorHandler } from '../../src/site/http/error-handler.js';
import { initCentralSite, type SiteInitResult } from '../../src/site/init/site-init.js';
import {
  packageIdFor,
  savePackageVersion,
  type ProgramDefinition,
} from '../../src/site/packages/package-store.js';
import { startSiteServer, type RunningSite } from '../../src/site/server/site-server.js';
import {
  errorBodySchema,
  managementPointPaths,
  protocolLimits,
  type ErrorBody,
} from '../../src/protocol/index.js';
import { sha256Hex, signDocument, type SigningKey } from '../../src/trust/index.js';
import { openTestPglite, type OpenedTestDatabase } from './backends.js';
import { buildSitePki, testSiteCode, type TestClient, type TestSitePki } from './test-pki.js';

/** Key-file cost for tests only: scrypt at full cost takes seconds per key. */
export const testKeyFileCost = { N: 1024, r: 8, p: 1 } as const;

// ---------------------------------------------------------------------------------------------
// Seed data through the stores

/** Registers a client in the given state (revoked clients are registered, then revoked). */
export async function addClient(
  db: SiteDb,
  client: TestClient,
  state: 'pending' | 'approved' | 'revoked',
  now = new Date(),
): Promise<void> {
  await registerClient(db, {
    id: client.id,
    publicKey: client.key.publicRecord().publicKey,
    siteCode: client.siteCode,
    hostname: client.hostname,
    mode: 'secure',
    rootSource: 'pinned',
    registeredAt: now,
    state: state === 'pending' ? 'pending' : 'approved',
    approvedBy: state === 'pending' ? null : 'test',
  });
  if (state === 'revoked') await setClientState(db, client.id, 'revoked', 'test', now);
}

export const testProgram: ProgramDefinition = {
  name: 'Install',
  commandLine: 'sh install.sh',
  workingDirectory: '.',
  environment: { MODE: 'quiet' },
  timeLimitSeconds: 600,
  elevated: false,
  successExitCodes: [0],
};

/** A package version with one program and a manifest signed by the site key (no content files). */
export async function addPackage(
  db: SiteDb,
  siteKey: SigningKey,
  input: { name: string; version?: string; siteCode?: string },
  now = new Date(),
): Promise<{ packageId: string; manifestHash: string }> {
  const siteCode = input.siteCode ?? testSiteCode;
  const packageId = await packageIdFor(db, input.name, siteCode, now);
  const version = input.version ?? '1.0.0';
  const manifest = signDocument(
    {
      kind: 'content-manifest',
      version: 1,
      packageId,
      packageVersion: version,
      siteCode,
      files: [{ path: 'install.sh', size: 5, sha256: sha256Hex('hello') }],
      totalSize: 5,
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 365 * 24 * 3600 * 1000).toISOString(),
    },
    [siteKey],
  );
  await savePackageVersion(
    db,
    { packageId, version, manifest, totalSize: 5, fileCount: 1, programs: [testProgram] },
    now,
  );
  return { packageId, manifestHash: manifest.hash };
}

/** A deployment of the test program to a collection, signed by the site key. */
export async function addDeployment(
  db: SiteDb,
  siteKey: SigningKey,
  input: { packageId: string; collectionId: string; expiresAt?: Date | null; siteCode?: string },
  now = new Date(),
): Promise<DeploymentRecord> {
  return createDeployment(
    db,
    {
      name: null,
      packageId: input.packageId,
      packageVersion: null,
      programName: testProgram.name,
      collectionId: input.collectionId,
      availableAt: now,
      mandatoryAt: null,
      expiresAt: input.expiresAt ?? null,
      rerun: 'never',
    },
    { siteCode: input.siteCode ?? testSiteCode, siteKey, contentUrls: ['http://127.0.0.1:8430'] },
    now,
  );
}

// ---------------------------------------------------------------------------------------------
// Closing a database that several pool connections used

/**
 * Discards a test database after its PostgreSQL connections have really closed: pg-pool's `end()`
 * resolves before its sockets close, and `drop database ... with (force)` would otherwise terminate
 * a closing client, whose FATAL error then surfaces as an uncaught exception.
 */
export async function discardWhenClosed(database: OpenedTestDatabase): Promise<void> {
  await database.db.destroy();
  if (database.location.kind === 'postgres') {
    const client = new pg.Client({ connectionString: database.location.url });
    await client.connect();
    try {
      for (let attempt = 0; attempt < 100; attempt += 1) {
        const result = await client.query<{ n: string }>(
          'select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
        );
        if (result.rows[0]?.n === '0') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      await client.end();
    }
  }
  await database.discard();
}

// ---------------------------------------------------------------------------------------------
// Counting database queries

export interface QueryCounter {
  count: number;
}

/**
 * The same database, counting every query built through it (DESIGN.md section 8: an unchanged
 * policy poll must not query the database; this proves it).
 */
export function countingDb(db: Kysely<SiteDatabase>): { db: Kysely<SiteDatabase>; counter: QueryCounter } {
  const counter: QueryCounter = { count: 0 };
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      counter.count += 1;
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
  return { db: db.withPlugin(plugin), counter };
}

// ---------------------------------------------------------------------------------------------
// Error bodies

/** Asserts a 4xx/5xx answer: the status, and a JSON `{error:{code,message,retryable}}` body. */
export function expectError(response: LightMyRequestResponse, status: number, code: string): ErrorBody {
  expect(response.statusCode, `expected ${status} ${code}, got: ${response.body.slice(0, 300)}`).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = errorBodySchema.parse(response.json());
  expect(body.error.code).toBe(code);
  return body;
}

// ---------------------------------------------------------------------------------------------
// A management point over a test database

export interface MpFixture {
  readonly database: OpenedTestDatabase;
  /** The database without the query counter (for seeding and checking). */
  readonly db: Kysely<SiteDatabase>;
  readonly app: FastifyInstance;
  readonly mp: ManagementPoint;
  readonly pki: TestSitePki;
  /** Queries the management point sent to the database. */
  readonly queries: QueryCounter;
  /** How often the management point said reports were stored. */
  readonly reportsStored: QueryCounter;
  register(registration: string, remoteAddress?: string): Promise<LightMyRequestResponse>;
  poll(clientId: string, etag?: string): Promise<LightMyRequestResponse>;
  postReports(reports: readonly string[]): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

let addressCounter = 0;

/** A fresh documentation address (RFC 5737 TEST-NET-2) so the registration rate limit stays out of the way. */
export function freshAddress(): string {
  addressCounter += 1;
  return `198.51.${Math.floor(addressCounter / 250) % 250}.${(addressCounter % 250) + 1}`;
}

export async function startManagementPoint(
  options: { approveAutomatically?: boolean; database?: OpenedTestDatabase; clock?: () => Date } = {},
): Promise<MpFixture> {
  const database = options.database ?? (await openTestPglite());
  const pki = buildSitePki();
  const counting = countingDb(database.db);
  const reportsStored: QueryCounter = { count: 0 };
  const mp = new ManagementPoint({
    db: counting.db,
    siteCode: pki.siteCode,
    mpName: pki.mpName,
    mpKey: pki.mpKey,
    trustBundle: pki.trustBundle,
    approveAutomatically: options.approveAutomatically ?? false,
    onReportsStored: () => {
      reportsStored.count += 1;
    },
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  // Set up like the site server's listener (src/site/server/site-server.ts).
  const app = Fastify({ logger: false, bodyLimit: protocolLimits.maxRequestBytes, frameworkErrors });
  installErrorHandler(app);
  app.removeContentTypeParser('text/plain');
  mp.register(app);
  await app.ready();
  return {
    database,
    db: database.db,
    app,
    mp,
    pki,
    queries: counting.counter,
    reportsStored,
    register: (registration, remoteAddress) =>
      app.inject({
        method: 'POST',
        url: managementPointPaths.register,
        payload: { registration },
        remoteAddress: remoteAddress ?? freshAddress(),
      }),
    poll: (clientId, etag) =>
      app.inject({
        method: 'GET',
        url: managementPointPaths.policy(clientId),
        headers: etag === undefined ? {} : { 'if-none-match': etag },
      }),
    postReports: (reports) =>
      app.inject({ method: 'POST', url: managementPointPaths.reports, payload: { reports } }),
    close: async () => {
      await app.close();
      await database.discard();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A whole central site in a temporary folder

export interface TestSite {
  readonly dir: string;
  readonly dataDir: string;
  readonly init: SiteInitResult;
  readonly site: RunningSite;
  /** The first administrator's API token (from admin-credentials.json). */
  readonly token: string;
  readonly password: string;
  inject(request: {
    method: 'GET' | 'POST' | 'PUT' | 'DELETE';
    url: string;
    payload?: unknown;
    token?: string | null;
    headers?: Record<string, string>;
    remoteAddress?: string;
  }): Promise<LightMyRequestResponse>;
  stop(): Promise<void>;
}

export async function startTestSite(
  options: { approval?: 'token' | 'automatic' | 'manual'; code?: string } = {},
): Promise<TestSite> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-site-'));
  const dataDir = join(dir, 'data');
  const init = await initCentralSite({
    dataDir,
    code: options.code ?? testSiteCode,
    name: 'Test site',
    listen: '127.0.0.1:0',
    publicUrl: null,
    database: null,
    passphrase: null,
    approval: options.approval ?? 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  const credentials = JSON.parse(await readFile(init.credentialsPath, 'utf8')) as {
    token: string;
    password: string;
  };
  const site = await startSiteServer({ dataDir, settings: { logLevel: 'fatal' } });
  return {
    dir,
    dataDir,
    init,
    site,
    token: credentials.token,
    password: credentials.password,
    inject: (request) => {
      const headers: Record<string, string> = { ...request.headers };
      const token = request.token === undefined ? credentials.token : request.token;
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      return site.app.inject({
        method: request.method,
        url: request.url,
        headers,
        ...(request.payload === undefined ? {} : { payload: request.payload as string }),
        ...(request.remoteAddress === undefined ? {} : { remoteAddress: request.remoteAddress }),
      });
    },
    stop: async () => {
      await site.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls a package import job until it ends; returns its final view. */
export async function waitForJob(
  site: TestSite,
  jobId: string,
  timeoutMs = 30_000,
): Promise<{ state: string; result: unknown; error: unknown }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await site.inject({ method: 'GET', url: `/api/v1/jobs/${jobId}` });
    expect(response.statusCode).toBe(200);
    const job = response.json<{ state: string; result: unknown; error: unknown }>();
    if (job.state !== 'running') return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
