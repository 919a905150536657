/**
 * Issue 9 items 2 and 3 for site systems on their own hosts, end to end with real processes
 * (docs/tls.md, docs/scale-out.md): a central site serving HTTPS (`site start --tls always`, its
 * embedded roles off) on a private PostgreSQL cluster, a management point (`steward mp start --tls
 * always`) on 127.0.0.2 and a distribution point (`steward dp start --tls always`) on 127.0.0.3,
 * each holding the server certificate the hierarchy CA issued at install, and real agents with the
 * root pinned: they enrol at the MP over HTTPS, get a client certificate once approved and present
 * it on polls and reports, download from the DP over HTTPS, and are refused once revoked; an agent
 * refuses an MP whose certificate comes from another hierarchy's CA.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { managementPointPaths, statusByName } from '../../src/protocol/index.js';
import { initCentralSite, type SiteInitResult } from '../../src/site/init/site-init.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import {
  describeCertificate,
  httpsFetch,
  isIssuedBy,
  readTlsKeyFile,
  SigningKey,
  tlsKeyPem,
  tlsOptionsFor,
  type TlsClientOptions,
} from '../../src/trust/index.js';
import { createHierarchyCa, issueServerCertificate } from '../../src/trust/tls/index.js';
import { enrollTestAgent } from '../support/agent-files.js';
import { runAgentOnce } from '../support/agent-runs.js';
import {
  createPrivateCluster,
  privateClusterSkipReason,
  type PrivateCluster,
} from '../support/private-postgres.js';
import { deployFiles, freePort } from '../support/site-process.js';
import {
  runStewardJson,
  startSteward,
  stopAllStewardProcesses,
  waitUntil,
  type StewardProcess,
} from '../support/steward-process.js';

const skip = privateClusterSkipReason();
if (skip !== undefined) console.warn(`site systems over HTTPS skipped: ${skip}`);
const siteCode = 'STS';
const testKeyFileCost = { N: 1024, r: 8, p: 1 } as const;
const database = 'steward_https_systems';

let dir: string;
let cluster: PrivateCluster;

interface HttpsCentral {
  dir: string;
  dataDir: string;
  url: string;
  init: SiteInitResult;
  token: string;
  caPem: string;
  tls: TlsClientOptions;
  process: StewardProcess | null;
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}
let site: HttpsCentral;

interface SiteSystemProcess {
  name: string;
  dataDir: string;
  url: string;
  args: string[];
  process: StewardProcess | null;
}
let mp: SiteSystemProcess;
let dp: SiteSystemProcess;

async function startCentral(): Promise<HttpsCentral> {
  const dataDir = join(dir, 'site');
  const port = await freePort();
  const init = await initCentralSite({
    dataDir,
    code: siteCode,
    name: `Site ${siteCode}`,
    listen: `127.0.0.1:${port}`,
    publicUrl: `https://127.0.0.1:${port}`,
    database: cluster.url(database),
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  const { token } = JSON.parse(await readFile(init.credentialsPath, 'utf8')) as { token: string };
  const caPem = await readFile(siteDataLayout(dataDir).tlsCaCertificate, 'utf8');
  const tls = tlsOptionsFor({ caPem });
  const url = `https://127.0.0.1:${port}`;
  const started = startSteward(['site', 'start', '--data', dataDir, '--tls', 'always'], {
    env: { STEWARD_SITE_EMBEDDED_ROLES: 'off', STEWARD_SITE_LOG_LEVEL: 'fatal' },
  });
  await waitUntil(
    async () => {
      if (!started.running()) throw new Error(`the site server exited: ${started.stderr()}`);
      return (
        (await httpsFetch(`${url}/health`, { tls, timeoutMs: 2000 }).catch(() => undefined))?.status === 200
      );
    },
    'the site server to answer /health over HTTPS',
    60_000,
  );
  return {
    dir,
    dataDir,
    url,
    init,
    token,
    caPem,
    tls,
    process: started,
    api: async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
      const response = await httpsFetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        tls,
        timeoutMs: 60_000,
      });
      const text = Buffer.from(response.body).toString('utf8');
      if (response.status >= 400) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    },
  };
}

async function systemToken(role: 'mp' | 'dp'): Promise<string> {
  const issued = await runStewardJson<{ token: string }>([
    'site',
    'system-token',
    '--data',
    site.dataDir,
    '--role',
    role,
  ]);
  return issued.token;
}

async function install(role: 'mp' | 'dp', name: string, host: string): Promise<SiteSystemProcess> {
  const token = await systemToken(role);
  const dataDir = join(dir, name);
  const url = `https://${host}:${await freePort()}`;
  const installed = await runStewardJson<{ name: string; siteCode: string }>([
    role,
    'install',
    '--data',
    dataDir,
    '--token',
    token,
    '--name',
    name,
    '--url',
    url,
  ]);
  expect(installed).toMatchObject({ name, siteCode });
  const args =
    role === 'mp'
      ? ['mp', 'start', '--data', dataDir, '--database', cluster.url(database), '--feed-interval', '0.5']
      : ['dp', 'start', '--data', dataDir, '--sync-interval', '1'];
  return { name, dataDir, url, args: [...args, '--tls', 'always'], process: null };
}

async function start(system: SiteSystemProcess): Promise<void> {
  const started = startSteward(system.args);
  system.process = started;
  let lastError = '';
  await waitUntil(
    async () => {
      if (!started.running()) throw new Error(`${system.name} exited: ${started.stderr()}`);
      const answer = await httpsFetch(`${system.url}/health`, { tls: site.tls, timeoutMs: 2000 }).catch(
        (error: unknown) => {
          lastError = String(error);
          return undefined;
        },
      );
      return answer?.status === 200;
    },
    `${system.name} to answer /health over HTTPS`,
    60_000,
  ).catch((error: unknown) => {
    throw new Error(
      `${(error as Error).message}; last error: ${lastError}; ${started.stderr().slice(-1500)}`,
    );
  });
}

/** The agent's client certificate and key, as node's TLS options (the hierarchy CA trusted). */
async function agentTls(dataDir: string): Promise<TlsClientOptions> {
  const layout = agentLayout(dataDir);
  const state = JSON.parse(await readFile(layout.tls, 'utf8')) as { clientCertificate: string };
  const key = await readTlsKeyFile(layout.clientTlsKey, { secretFile: layout.keySecret });
  return tlsOptionsFor({
    caPem: site.caPem,
    clientCertPem: state.clientCertificate,
    clientKeyPem: tlsKeyPem(key),
  });
}

async function outcome(request: Promise<{ status: number }>): Promise<string> {
  return request.then(
    (answer) => `answered ${answer.status}`,
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );
}

const servers: Server[] = [];

beforeAll(async () => {
  if (skip !== undefined) return;
  dir = await mkdtemp(join(tmpdir(), 'steward-https-systems-'));
  cluster = await createPrivateCluster();
  await cluster.query(`create database ${database}`);
  site = await startCentral();
  mp = await install('mp', 'STS-MP2', '127.0.0.2');
  dp = await install('dp', 'STS-DP2', '127.0.0.3');
  for (const system of [mp, dp]) await start(system);
}, 240_000);

afterAll(async () => {
  if (skip !== undefined) return;
  for (const server of servers) server.close();
  await stopAllStewardProcesses();
  await (cluster as PrivateCluster | undefined)?.destroy();
  if ((dir as string | undefined) !== undefined) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe.skipIf(skip !== undefined)(
  'site systems on their own hosts over HTTPS',
  { timeout: 180_000 },
  () => {
    let agent: { dataDir: string; clientId: string };

    it('the MP and the DP serve HTTPS only, with certificates the hierarchy CA issued for their addresses', async () => {
      for (const [system, address] of [
        [mp, '127.0.0.2'],
        [dp, '127.0.0.3'],
      ] as const) {
        expect(system.url.startsWith(`https://${address}:`)).toBe(true);
        const port = new URL(system.url).port;
        await expect(fetch(`http://${address}:${port}/health`)).rejects.toThrow();
        // The system trust store alone does not know the hierarchy CA.
        await expect(fetch(`${system.url}/health`)).rejects.toThrow();
        const certificatePem = await readFile(join(system.dataDir, 'tls', 'server.pem'), 'utf8');
        expect(describeCertificate(certificatePem).subjectAltName).toContain(`IP Address:${address}`);
        expect(isIssuedBy(certificatePem, site.caPem)).toBe(true);
      }
      // The site server, its embedded roles off, serves no client traffic.
      expect((await httpsFetch(`${site.url}${managementPointPaths.trust}`, { tls: site.tls })).status).toBe(
        404,
      );
    });

    it('an agent with the root pinned enrols at the MP over HTTPS, gets a client certificate and presents it', async () => {
      const dataDir = join(dir, 'agent-1');
      const enrolled = await enrollTestAgent(dataDir, mp.url, site.init.rootKeyId, {
        token: site.init.enrolmentToken,
        hostname: 'https-agent-1',
      });
      expect(enrolled.state).toBe('approved');
      agent = { dataDir, clientId: enrolled.clientId };
      const before = JSON.parse(await readFile(agentLayout(dataDir).tls, 'utf8')) as {
        caCertificate: string;
        clientCertificate: string | null;
      };
      expect(before.caCertificate.trim()).toBe(site.caPem.trim());

      const run = await runAgentOnce(dataDir);
      expect(run.cycle.errors).toEqual([]);
      expect(run.cycle.managementPoint).toBe(mp.url);
      expect(run.cycle.reportsSent).toBeGreaterThan(0);
      const issued = JSON.parse(await readFile(agentLayout(dataDir).tls, 'utf8')) as {
        clientCertificate: string;
      };
      const certificate = describeCertificate(issued.clientCertificate);
      expect(certificate.subject).toBe(`CN=${enrolled.clientId}`);
      expect(isIssuedBy(issued.clientCertificate, site.caPem)).toBe(true);

      // Policy at the standalone MP needs that certificate (mutual TLS), and only for its own client.
      const path = `${mp.url}/mp/v1/clients/${enrolled.clientId}/policy`;
      const without = await httpsFetch(path, { tls: site.tls });
      expect(without.status).toBe(401);
      expect(Buffer.from(without.body).toString()).toContain('ERR_TLS_CLIENT_UNTRUSTED');
      expect((await httpsFetch(path, { tls: await agentTls(dataDir) })).status).toBe(200);
    });

    it('downloads from the DP over HTTPS and runs a deployment to success', async () => {
      const { deploymentId, packageId } = await deployFiles(site, {
        name: 'https-package',
        files: { 'install.sh': 'echo hello > "$STEWARD_AGENT_DIR/https-hello.txt"\n' },
        commandLine: 'sh install.sh',
        clientIds: [agent.clientId],
      });
      await waitUntil(async () => {
        const state = await cluster.query(
          `select state from site_system_content where system_id = '${siteCode}-distribution-point-STS-DP2'`,
          database,
        );
        return state.rows.some((r: { state: string }) => r.state === 'present') ? true : undefined;
      }, 'the distribution point to hold the package');
      await waitUntil(
        async () => {
          const run = await runAgentOnce(agent.dataDir);
          if (run.cycle.errors.length > 0) throw new Error(run.cycle.errors.join('; '));
          const view = await site.api<{ summary: { succeeded: number } }>(
            'GET',
            `/deployments/${deploymentId}`,
          );
          return view.summary.succeeded === 1 ? true : undefined;
        },
        'the deployment to succeed through the MP and DP over HTTPS',
        90_000,
        500,
      );
      expect(await readFile(join(agent.dataDir, 'https-hello.txt'), 'utf8')).toBe('hello\n');
      // The content came from the DP over HTTPS: with the site's embedded roles off, policy names
      // the DPs of the site_systems table as content locations, and that is this one only.
      const locations = await cluster.query(
        `select urls from site_systems where role = 'distribution-point'`,
        database,
      );
      expect(locations.rows).toEqual([{ urls: [dp.url] }]);
      const manifest = `${dp.url}/dp/v1/packages/${packageId}/1.0/manifest`;
      expect((await httpsFetch(manifest, { tls: site.tls })).status).toBe(200);
      const messages = await site.api<{ items: { status_id: number }[] }>(
        'GET',
        `/status-messages?clientId=${agent.clientId}&deploymentId=${deploymentId}`,
      );
      expect(messages.items.map((m) => m.status_id)).toContain(statusByName('program-succeeded').id);
    });

    it("refuses a revoked client's connections at the MP, its handshake within a feed interval", async () => {
      const tls = await agentTls(agent.dataDir);
      const path = `${mp.url}/mp/v1/clients/${agent.clientId}/policy`;
      expect((await httpsFetch(path, { tls })).status).toBe(200);
      await site.api('POST', `/clients/${agent.clientId}/revoke`, {});
      // The revocation is a policy change: once the MP's feed reader sees it (every 0.5 s here),
      // the certificate's connections are closed after the handshake, before any request is read.
      const started = Date.now();
      await waitUntil(
        async () =>
          ['ERR_TLS_CLIENT_REFUSED', 'ERR_HTTPS_FAILED'].includes(await outcome(httpsFetch(path, { tls }))),
        'the MP to refuse the revoked certificate at the handshake',
        10_000,
        100,
      );
      expect(Date.now() - started).toBeLessThan(10_000);
      // Even the trust bundle, which needs no certificate, is refused with this one.
      expect(['ERR_TLS_CLIENT_REFUSED', 'ERR_HTTPS_FAILED']).toContain(
        await outcome(httpsFetch(`${mp.url}/mp/v1/trust`, { tls })),
      );
      const run = await runAgentOnce(agent.dataDir);
      expect(run.cycle.errors.join(' ')).toMatch(
        /ERR_MP_UNREACHABLE|ERR_TLS_CLIENT_REFUSED|ERR_CLIENT_REVOKED/,
      );
    });

    it("an agent refuses an MP whose certificate comes from another hierarchy's CA", async () => {
      const dataDir = join(dir, 'agent-2');
      const enrolled = await enrollTestAgent(dataDir, mp.url, site.init.rootKeyId, {
        token: site.init.enrolmentToken,
        hostname: 'https-agent-2',
      });
      expect(enrolled.state).toBe('approved');
      expect((await runAgentOnce(dataDir)).cycle.errors).toEqual([]);
      const bundle = Buffer.from((await httpsFetch(`${mp.url}/mp/v1/trust`, { tls: site.tls })).body);
      const foreign = await createHierarchyCa({
        rootSigners: [SigningKey.generate()],
        siteCode,
        now: new Date(),
      });
      const certificate = await issueServerCertificate(foreign, {
        commonName: 'foreign-mp',
        ipAddresses: ['127.0.0.2'],
        now: new Date(),
      });
      const server = createServer(
        { cert: certificate.certificatePem, key: certificate.keyPem },
        (request, response) => {
          if (request.url === '/mp/v1/trust')
            response.writeHead(200, { 'content-type': 'application/json' }).end(bundle);
          else response.writeHead(404).end();
        },
      );
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
      const address = server.address();
      if (address === null || typeof address !== 'object') throw new Error('no address');
      const foreignUrl = `https://127.0.0.2:${address.port}`;

      // At enrolment...
      const refused = await enrollTestAgent(join(dir, 'agent-3'), foreignUrl, site.init.rootKeyId, {
        token: site.init.enrolmentToken,
      }).then(
        () => 'enrolled',
        (error: unknown) => (error as { code?: string }).code,
      );
      expect(refused).toBe('ERR_TLS_SERVER_UNTRUSTED');
      // ...and while running.
      const layout = agentLayout(dataDir);
      const config = JSON.parse(await readFile(layout.config, 'utf8')) as { managementPoints: string[] };
      await writeFile(layout.config, JSON.stringify({ ...config, managementPoints: [foreignUrl] }));
      const run = await runAgentOnce(dataDir);
      expect(run.cycle.managementPoint).toBeNull();
      expect(run.cycle.errors.join(' ')).toContain('ERR_TLS_SERVER_UNTRUSTED');
    });
  },
);
