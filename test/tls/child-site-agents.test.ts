/**
 * Agents of a joined primary site over mutual TLS (docs/tls.md, "Agents of joined sites"): the
 * child holds no CA key, so its management point relays an approved agent's certificate request
 * up the parent link to the central site's hierarchy CA, answers ERR_CLIENT_CERTIFICATE_PENDING
 * until the certificate is back, and then hands it over; the agent deploys and reports over
 * mutual TLS with it; the child refuses client endpoints without a certificate and a revoked
 * client's connections at once. An agent of a secondary site below the child, served over HTTPS,
 * gets its certificate through the secondary's proxy management point the same way, and the
 * proxy requires it; the parent accepts the secondary's site certificate for its clients' policy.
 * The central site's own checks of relayed requests are in client-certificate-relay.test.ts.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollAgent } from '../../src/agent/enroll.js';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import {
  describeCertificate,
  httpsFetch,
  isIssuedBy,
  readTlsKeyFile,
  tlsKeyPem,
  tlsOptionsFor,
} from '../../src/trust/index.js';
import { testKeyFileCost } from '../hierarchy/support/hierarchy-sites.js';
import { deployFiles } from '../support/site-process.js';
import { runSteward, waitUntil } from '../support/steward-process.js';
import { joinHttpsChild, startHttpsCentral, type HttpsHierarchySite } from './support/https-hierarchy.js';

let central: HttpsHierarchySite;
let child: HttpsHierarchySite;
let caPem: string;
let work: string;
let rootFingerprint: string;

beforeAll(async () => {
  ({ site: central, caPem } = await startHttpsCentral('AGC', '127.0.0.1'));
  child = await joinHttpsChild(central, 'AGP', '127.0.0.2', tlsOptionsFor({ caPem }));
  work = await mkdtemp(join(tmpdir(), 'steward-child-agents-'));
  const trust = await central.api<{ root: { keys: { fingerprint: string }[] }[] }>('GET', '/trust');
  const key = trust.root[0]?.keys[0];
  if (key === undefined) throw new Error('the central site shows no root key');
  rootFingerprint = key.fingerprint;
}, 240_000);

afterAll(async () => {
  await child.remove();
  await central.remove();
  await rm(work, { recursive: true, force: true });
});

async function agentCycle(dataDir: string): Promise<{ errors: string[]; reportsSent: number }> {
  const result = await runSteward(['agent', 'run', '--data', dataDir, '--once', '--json'], {
    timeoutMs: 120_000,
  });
  if (result.stdout.trim() === '') throw new Error(`agent run failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as { errors: string[]; reportsSent: number };
}

async function enrolAtChild(name: string, mpUrl = child.url): Promise<{ dataDir: string; clientId: string }> {
  const { token } = await child.api<{ token: string }>('POST', '/enrolment-tokens', {});
  const dataDir = join(work, name);
  const enrolled = await enrollAgent({
    dataDir,
    mpUrl,
    rootPin: rootFingerprint,
    mode: 'secure',
    token,
    hostname: name,
    keyFileCost: testKeyFileCost,
    now: new Date(),
  });
  expect(enrolled.state).toBe('approved');
  expect(enrolled.siteCode).toBe('AGP');
  return { dataDir, clientId: enrolled.clientId };
}

async function agentTls(dataDir: string) {
  const layout = agentLayout(dataDir);
  const state = JSON.parse(await readFile(layout.tls, 'utf8')) as { clientCertificate: string };
  const key = await readTlsKeyFile(layout.clientTlsKey, { secretFile: layout.keySecret });
  return tlsOptionsFor({ caPem, clientCertPem: state.clientCertificate, clientKeyPem: tlsKeyPem(key) });
}

describe('agents of a joined primary site', () => {
  let agent: { dataDir: string; clientId: string };

  it('get their client certificate from the central CA through the parent link', async () => {
    agent = await enrolAtChild('child-agent-1');
    const first = await agentCycle(agent.dataDir);
    expect(first.errors.join(' ')).toContain('ERR_CLIENT_CERTIFICATE_PENDING');
    const pendingKey = await readFile(agentLayout(agent.dataDir).pendingClientTlsKey, 'utf8');
    await waitUntil(
      async () => (await agentCycle(agent.dataDir)).errors.length === 0,
      'the certificate to come back down and the agent to poll with it',
      90_000,
      1000,
    );
    const layout = agentLayout(agent.dataDir);
    const state = JSON.parse(await readFile(layout.tls, 'utf8')) as { clientCertificate: string };
    const certificate = describeCertificate(state.clientCertificate);
    expect(certificate.subject).toBe(`CN=${agent.clientId}`);
    expect(certificate.extendedKeyUsages).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(isIssuedBy(state.clientCertificate, caPem)).toBe(true);
    // The key asked for in the first cycle is the key certified: it waited as the pending key.
    expect(await readFile(layout.clientTlsKey, 'utf8')).toBe(pendingKey);
    await expect(readFile(layout.pendingClientTlsKey, 'utf8')).rejects.toThrow();
  }, 180_000);

  it('deploys and reports over mutual TLS with it', async () => {
    const { deploymentId } = await deployFiles(child, {
      name: 'child-tls',
      files: { 'install.sh': 'echo child > "$STEWARD_AGENT_DIR/child-tls.txt"\n' },
      commandLine: 'sh install.sh',
      clientIds: [agent.clientId],
    });
    await waitUntil(
      async () => {
        const result = await agentCycle(agent.dataDir);
        if (result.errors.length > 0) throw new Error(result.errors.join('; '));
        const view = await child.api<{ summary: { succeeded: number } }>(
          'GET',
          `/deployments/${deploymentId}`,
        );
        return view.summary.succeeded === 1;
      },
      'the deployment to succeed at the child over mutual TLS',
      90_000,
      500,
    );
    expect(await readFile(join(agent.dataDir, 'child-tls.txt'), 'utf8')).toBe('child\n');
  }, 180_000);

  it('refuses client endpoints without a client certificate', async () => {
    const answer = await httpsFetch(`${child.url}/mp/v1/clients/${agent.clientId}/policy`, {
      tls: tlsOptionsFor({ caPem }),
    });
    expect(answer.status).toBe(401);
    expect(Buffer.from(answer.body).toString()).toContain('ERR_TLS_CLIENT_UNTRUSTED');
    const own = await httpsFetch(`${child.url}/mp/v1/clients/${agent.clientId}/policy`, {
      tls: await agentTls(agent.dataDir),
    });
    expect(own.status).toBe(200);
  });

  it("refuses a revoked client's TLS connections at once", async () => {
    const tls = await agentTls(agent.dataDir);
    await child.api('POST', `/clients/${agent.clientId}/revoke`, {});
    const refused = await httpsFetch(`${child.url}/mp/v1/clients/${agent.clientId}/policy`, { tls }).then(
      () => 'answered',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(['ERR_TLS_CLIENT_REFUSED', 'ERR_HTTPS_FAILED']).toContain(refused);
  });
});

describe('agents of an HTTPS secondary site below the joined primary', () => {
  let secondary: HttpsHierarchySite;

  beforeAll(async () => {
    secondary = await joinHttpsChild(
      child,
      'AGS',
      '127.0.0.3',
      tlsOptionsFor({ caPem }),
      'secondary',
      'https',
    );
  }, 240_000);

  afterAll(async () => {
    await secondary.remove();
  });

  it('get their certificate through the proxy MP and poll policy with it', async () => {
    const agent = await enrolAtChild('secondary-agent', secondary.url);
    // Without a certificate the proxy refuses the client endpoints.
    const bare = await httpsFetch(`${secondary.url}/mp/v1/clients/${agent.clientId}/policy`, {
      tls: tlsOptionsFor({ caPem }),
    });
    expect(bare.status).toBe(401);
    expect(Buffer.from(bare.body).toString()).toContain('ERR_TLS_CLIENT_UNTRUSTED');
    await waitUntil(
      async () => (await agentCycle(agent.dataDir)).errors.length === 0,
      'the secondary agent to get its certificate and poll with it',
      120_000,
      1000,
    );
    const state = JSON.parse(await readFile(agentLayout(agent.dataDir).tls, 'utf8')) as {
      clientCertificate: string;
    };
    expect(describeCertificate(state.clientCertificate).subject).toBe(`CN=${agent.clientId}`);
    expect(isIssuedBy(state.clientCertificate, caPem)).toBe(true);
    // The proxy serves the agent's own policy to its certificate, and refuses another client's.
    const tls = await agentTls(agent.dataDir);
    expect(
      (await httpsFetch(`${secondary.url}/mp/v1/clients/${agent.clientId}/policy`, { tls })).status,
    ).toBe(200);
    const other = await httpsFetch(`${secondary.url}/mp/v1/clients/${'0'.repeat(64)}/policy`, { tls });
    expect(other.status).toBe(403);
    expect(Buffer.from(other.body).toString()).toContain('ERR_CLIENT_CERTIFICATE_MISMATCH');
  }, 240_000);

  it("the parent's MP takes a site certificate for a client's policy only from its own secondary", async () => {
    const layout = siteDataLayout(secondary.dataDir);
    const key = await readTlsKeyFile(layout.tlsServerKey, { secretFile: layout.keySecret });
    const siteTls = tlsOptionsFor({
      caPem,
      clientCertPem: await readFile(layout.tlsServerCertificate, 'utf8'),
      clientKeyPem: tlsKeyPem(key),
    });
    const agent = await enrolAtChild('secondary-proxy-check', secondary.url);
    // The secondary's own parent serves it (the proxy fetches lists this way).
    const atParent = await httpsFetch(`${child.url}/mp/v1/clients/${agent.clientId}/policy`, {
      tls: siteTls,
    });
    expect(atParent.status).toBe(200);
    // The central site is not its parent: there the same certificate is another party's.
    const atCentral = await httpsFetch(`${central.url}/mp/v1/clients/${agent.clientId}/policy`, {
      tls: siteTls,
    });
    expect(atCentral.status).toBe(403);
    expect(Buffer.from(atCentral.body).toString()).toContain('ERR_CLIENT_CERTIFICATE_MISMATCH');
  }, 120_000);
});
