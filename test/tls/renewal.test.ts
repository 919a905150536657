/**
 * Renewal before expiry (docs/tls.md): with certificates valid for about two minutes, the site
 * server renews its own certificate when a quarter of its validity is left and swaps it into the
 * running listener (setSecureContext, no restart), and the agent renews its client certificate,
 * while the agent keeps polling and reporting every second without an error.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { describeCertificate, isIssuedBy, normalizeSerial } from '../../src/trust/index.js';
import { enrollTestAgent } from '../support/agent-files.js';
import { startSteward, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { createHttpsSite, peerCertificate, type HttpsSite } from './support/https-site.js';

/** 0.0015 days = 129.6 s; issued 5 minutes back-dated, so due for renewal about 22 s after issue. */
const shortDays = '0.0015';

let site: HttpsSite;
let work: string;

beforeAll(async () => {
  site = await createHttpsSite('TLR', {
    serverCertificateDays: Number(shortDays),
    startArgs: ['--server-certificate-days', shortDays, '--client-certificate-days', shortDays],
  });
  work = await mkdtemp(join(tmpdir(), 'steward-tls-renewal-'));
}, 120_000);

afterAll(async () => {
  await stopAllStewardProcesses();
  await site.remove();
  await rm(work, { recursive: true, force: true });
});

async function clientCertificateSerial(dataDir: string): Promise<string | undefined> {
  const state = JSON.parse(await readFile(agentLayout(dataDir).tls, 'utf8')) as {
    clientCertificate: string | null;
  };
  return state.clientCertificate === null
    ? undefined
    : describeCertificate(state.clientCertificate).serialHex;
}

describe('certificate renewal', () => {
  it('renews the server and client certificates before they expire without interrupting polling', async () => {
    const initial = await peerCertificate(site.port);
    const initialSerial = normalizeSerial(initial.serialNumber);
    const dataDir = join(work, 'agent');
    const enrolled = await enrollTestAgent(dataDir, site.url, site.init.rootKeyId, {
      token: site.init.enrolmentToken,
    });
    const agent = startSteward([
      'agent',
      'run',
      '--data',
      dataDir,
      '--poll-interval',
      '1',
      '--heartbeat-interval',
      '1',
    ]);
    const firstClientSerial = await waitUntil(
      () => clientCertificateSerial(dataDir),
      'the first client certificate',
      30_000,
      200,
    );

    // The site's certificate is swapped in the running listener.
    const renewed = await waitUntil(
      async () => {
        const current = await peerCertificate(site.port);
        return normalizeSerial(current.serialNumber) === initialSerial ? undefined : current;
      },
      'the server certificate to be renewed',
      60_000,
      500,
    );
    expect(Date.parse(renewed.valid_to)).toBeGreaterThan(Date.parse(initial.valid_to));
    const pem = await readFile(join(site.dataDir, 'tls', 'server.pem'), 'utf8');
    expect(normalizeSerial(describeCertificate(pem).serialHex)).toBe(normalizeSerial(renewed.serialNumber));
    expect(isIssuedBy(pem, site.caPem)).toBe(true);
    const renewedAt = Date.now();

    // The agent renews its own certificate too, and keeps reporting over the new ones.
    await waitUntil(
      async () => {
        const serial = await clientCertificateSerial(dataDir);
        return serial !== undefined && serial !== firstClientSerial;
      },
      'the client certificate to be renewed',
      60_000,
      500,
    );
    await waitUntil(
      async () => {
        const detail = await site.api<{ client: { lastSeenAt: string | null } }>(
          'GET',
          `/clients/${enrolled.clientId}`,
        );
        return detail.client.lastSeenAt !== null && Date.parse(detail.client.lastSeenAt) > renewedAt + 2000;
      },
      'a heartbeat after the renewal',
      30_000,
      500,
    );
    expect(agent.running()).toBe(true);
    expect(agent.stderr()).not.toMatch(/ERR_[A-Z_]+/);
    expect(agent.stderr()).toMatch(/client certificate issued[\s\S]*client certificate issued/);
    expect(site.process?.running()).toBe(true);
  }, 150_000);
});
