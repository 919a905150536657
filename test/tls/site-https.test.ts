/**
 * Transport security end to end (docs/tls.md): a site started with `--tls always` on 127.0.0.1
 * serves HTTPS only; agents enrol over HTTPS with the root pinned, get client certificates once
 * approved, and deploy and report over mutual TLS; a revoked client's connections are refused at
 * once; the admin CLI works over HTTPS with the site's CA and refuses another CA.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { statusByName, trustBundleSchema } from '../../src/protocol/index.js';
import {
  describeCertificate,
  httpsFetch,
  isIssuedBy,
  readTlsKeyFile,
  SigningKey,
  tlsKeyPem,
  tlsOptionsFor,
  trustRootFromPin,
  verifyCaEndorsement,
} from '../../src/trust/index.js';
import { createHierarchyCa } from '../../src/trust/tls/index.js';
import { enrollTestAgent, queuedStatus } from '../support/agent-files.js';
import { runSteward, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { createHttpsSite, deployOverHttps, type HttpsSite } from './support/https-site.js';

let site: HttpsSite;
let work: string;

beforeAll(async () => {
  site = await createHttpsSite('TLA');
  work = await mkdtemp(join(tmpdir(), 'steward-tls-agents-'));
}, 120_000);

afterAll(async () => {
  await stopAllStewardProcesses();
  await site.remove();
  await rm(work, { recursive: true, force: true });
});

/** One `steward agent run --once` cycle of the agent in `dataDir`. */
async function agentCycle(dataDir: string): Promise<{ errors: string[]; reportsSent: number }> {
  const result = await runSteward(['agent', 'run', '--data', dataDir, '--once', '--json'], {
    timeoutMs: 120_000,
  });
  if (result.stdout.trim() === '') throw new Error(`agent run failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { errors: string[]; reportsSent: number };
}

/** The agent's client certificate and key, as node's TLS options (the site's CA trusted). */
async function agentTls(dataDir: string) {
  const layout = agentLayout(dataDir);
  const state = JSON.parse(await readFile(layout.tls, 'utf8')) as { clientCertificate: string };
  const key = await readTlsKeyFile(layout.clientTlsKey, { secretFile: layout.keySecret });
  return tlsOptionsFor({
    caPem: site.caPem,
    clientCertPem: state.clientCertificate,
    clientKeyPem: tlsKeyPem(key),
  });
}

describe('a site with --tls always on 127.0.0.1', () => {
  it('serves HTTPS only, with a certificate the hierarchy CA issued for its address', async () => {
    expect(site.url.startsWith('https://')).toBe(true);
    // runtime.json is written once the listener is up, just after /health answers.
    const runtime = await waitUntil(
      async () =>
        JSON.parse(await readFile(join(site.dataDir, 'runtime.json'), 'utf8')) as {
          url: string;
          transport: string;
        },
      'runtime.json',
    );
    expect(runtime).toMatchObject({ url: site.url, transport: 'https' });
    const health = await httpsFetch(`${site.url}/health`, { tls: site.tls });
    expect(health.status).toBe(200);
    // Plain HTTP on the same port is refused, and so is HTTPS with the system trust store.
    await expect(fetch(`http://127.0.0.1:${site.port}/health`)).rejects.toThrow();
    await expect(fetch(`${site.url}/health`)).rejects.toThrow();
    const server = describeCertificate(await readFile(join(site.dataDir, 'tls', 'server.pem'), 'utf8'));
    expect(server.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(isIssuedBy(await readFile(join(site.dataDir, 'tls', 'server.pem'), 'utf8'), site.caPem)).toBe(
      true,
    );
  });

  it('hands agents the CA with the root endorsement in the trust bundle (C1)', async () => {
    const response = await httpsFetch(`${site.url}/mp/v1/trust`, { tls: site.tls });
    const bundle = trustBundleSchema.parse(JSON.parse(Buffer.from(response.body).toString('utf8')));
    const now = new Date();
    const root = trustRootFromPin(bundle.rootChain, site.init.rootFingerprint, now);
    const verified = verifyCaEndorsement(
      bundle.tlsCaEndorsement ?? '',
      bundle.tlsCaCertificate ?? '',
      root,
      now,
    );
    expect(verified.caCertificatePem.trim()).toBe(site.caPem.trim());
    expect(describeCertificate(site.caPem).sha256).toBe(site.init.tlsCaSha256);
  });

  it('refuses policy and reports without a client certificate; registration stays open', async () => {
    const policy = await httpsFetch(`${site.url}/mp/v1/clients/${'a'.repeat(64)}/policy`, { tls: site.tls });
    expect(policy.status).toBe(401);
    expect(Buffer.from(policy.body).toString()).toContain('ERR_TLS_CLIENT_UNTRUSTED');
    const reports = await httpsFetch(`${site.url}/mp/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reports: ['{}'] }),
      tls: site.tls,
    });
    expect(reports.status).toBe(401);
    const register = await httpsFetch(`${site.url}/mp/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ registration: '{}' }),
      tls: site.tls,
    });
    expect(register.status).toBe(400);
  });
});

describe('agents over mutual TLS', () => {
  let first: { dataDir: string; clientId: string };
  let second: { dataDir: string; clientId: string };

  it('enrol with the root pinned, get a client certificate, deploy and report', async () => {
    const dataDir = join(work, 'agent-1');
    const enrolled = await enrollTestAgent(dataDir, site.url, site.init.rootKeyId, {
      token: site.init.enrolmentToken,
      hostname: 'tls-agent-1',
    });
    expect(enrolled.state).toBe('approved');
    first = { dataDir, clientId: enrolled.clientId };
    const tlsState = JSON.parse(await readFile(agentLayout(dataDir).tls, 'utf8')) as {
      caCertificate: string;
      clientCertificate: string | null;
    };
    expect(tlsState.caCertificate.trim()).toBe(site.caPem.trim());
    expect(tlsState.clientCertificate).toBeNull();

    const cycle = await agentCycle(dataDir);
    expect(cycle.errors).toEqual([]);
    expect(cycle.reportsSent).toBeGreaterThan(0);
    const issued = JSON.parse(await readFile(agentLayout(dataDir).tls, 'utf8')) as {
      clientCertificate: string;
    };
    const certificate = describeCertificate(issued.clientCertificate);
    expect(certificate.subject).toBe(`CN=${enrolled.clientId}`);
    expect(certificate.extendedKeyUsages).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(isIssuedBy(issued.clientCertificate, site.caPem)).toBe(true);

    const deploymentId = await deployOverHttps(site, {
      name: 'tls-hello',
      files: { 'install.sh': 'echo hello > "$STEWARD_AGENT_DIR/tls-hello.txt"\n' },
      commandLine: 'sh install.sh',
      clientIds: [enrolled.clientId],
    });
    await waitUntil(
      async () => {
        const result = await agentCycle(dataDir);
        if (result.errors.length > 0) throw new Error(result.errors.join('; '));
        const view = await site.api<{ summary: { succeeded: number } }>(
          'GET',
          `/deployments/${deploymentId}`,
        );
        return view.summary.succeeded === 1;
      },
      'the deployment to succeed over mutual TLS',
      90_000,
      500,
    );
    expect(await readFile(join(dataDir, 'tls-hello.txt'), 'utf8')).toBe('hello\n');
  }, 180_000);

  it('waits for approval before it gets a certificate', async () => {
    const dataDir = join(work, 'agent-2');
    const enrolled = await enrollTestAgent(dataDir, site.url, site.init.rootKeyId, {
      hostname: 'tls-agent-2',
    });
    expect(enrolled.state).toBe('pending');
    second = { dataDir, clientId: enrolled.clientId };
    const pending = await agentCycle(dataDir);
    expect(pending.errors.join(' ')).toContain('ERR_CLIENT_NOT_APPROVED');
    await site.api('POST', `/clients/${enrolled.clientId}/approve`, {});
    const approved = await agentCycle(dataDir);
    expect(approved.errors).toEqual([]);
  }, 120_000);

  it('enrols over HTTPS on first use where allowed, and records it as before', async () => {
    const dataDir = join(work, 'agent-tofu');
    const enrolled = await enrollTestAgent(dataDir, site.url, null, {
      mode: 'trust-on-first-use',
      token: site.init.enrolmentToken,
      hostname: 'tls-agent-tofu',
    });
    expect(enrolled.rootSource).toBe('first-use');
    expect((await queuedStatus(dataDir)).map((m) => m.statusId)).toEqual([statusByName('root-first-use').id]);
    const tlsState = JSON.parse(await readFile(agentLayout(dataDir).tls, 'utf8')) as {
      caCertificate: string;
    };
    expect(tlsState.caCertificate.trim()).toBe(site.caPem.trim());
  });

  it("refuses a client certificate used for another client's policy", async () => {
    const tls = await agentTls(first.dataDir);
    const own = await httpsFetch(`${site.url}/mp/v1/clients/${first.clientId}/policy`, { tls });
    expect(own.status).toBe(200);
    const other = await httpsFetch(`${site.url}/mp/v1/clients/${second.clientId}/policy`, { tls });
    expect(other.status).toBe(403);
    expect(Buffer.from(other.body).toString()).toContain('ERR_CLIENT_CERTIFICATE_MISMATCH');
  });

  it("refuses a revoked client's TLS connections at once", async () => {
    const tls = await agentTls(first.dataDir);
    await site.api('POST', `/clients/${first.clientId}/revoke`, {});
    const refused = await httpsFetch(`${site.url}/mp/v1/clients/${first.clientId}/policy`, { tls }).then(
      () => 'answered',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(['ERR_TLS_CLIENT_REFUSED', 'ERR_HTTPS_FAILED']).toContain(refused);
    // Its certificate does not even reach the trust bundle, which needs none.
    const bundle = await httpsFetch(`${site.url}/mp/v1/trust`, { tls }).then(
      () => 'answered',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(['ERR_TLS_CLIENT_REFUSED', 'ERR_HTTPS_FAILED']).toContain(bundle);
    const cycle = await agentCycle(first.dataDir);
    expect(cycle.errors.join(' ')).toMatch(/ERR_MP_UNREACHABLE|ERR_TLS_CLIENT_REFUSED/);
    // Other clients are not affected.
    expect((await agentCycle(second.dataDir)).errors).toEqual([]);
  }, 120_000);
});

describe('the admin CLI over HTTPS', () => {
  it('works with the data folder (the CA is read from tls/ca.pem)', async () => {
    const result = await runSteward(['client', 'list', '--data', site.dataDir, '--json']);
    expect(result.code).toBe(0);
    const clients = JSON.parse(result.stdout) as { hostname: string; state: string }[];
    expect(clients.map((c) => `${c.hostname} ${c.state}`).sort()).toEqual([
      'tls-agent-1 revoked',
      'tls-agent-2 approved',
      'tls-agent-tofu approved',
    ]);
  });

  it('works with --site and STEWARD_CA_FILE, and refuses another CA with ERR_TLS_SERVER_UNTRUSTED', async () => {
    const other = await createHierarchyCa({
      rootSigners: [SigningKey.generate()],
      siteCode: 'TLA',
      now: new Date(),
    });
    const otherCa = join(work, 'other-ca.pem');
    await writeFile(otherCa, other.caCertificatePem);
    const env = { STEWARD_TOKEN: site.token };
    const good = await runSteward(['site', 'status', '--site', site.url, '--json'], {
      env: { ...env, STEWARD_CA_FILE: join(site.dataDir, 'tls', 'ca.pem') },
    });
    expect(good.code).toBe(0);
    expect(JSON.parse(good.stdout)).toMatchObject({ code: 'TLA' });
    const wrong = await runSteward(['client', 'list', '--site', site.url, '--ca-file', otherCa], { env });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/^error ERR_TLS_SERVER_UNTRUSTED: /m);
    const none = await runSteward(['client', 'list', '--site', site.url], { env });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('--ca-file');
  });
});
