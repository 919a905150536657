/**
 * A root rotation at a site serving HTTPS (docs/tls.md, docs/operations.md "Rotate the root"): the
 * agent validates the hierarchy CA only through the root's `tls-ca` endorsement, so `steward trust
 * rotate-root` endorses the CA again with the new root. An agent that follows the rotation (C1)
 * takes the new endorsement and keeps polling and deploying over mutual TLS.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { envelopePayloadBytes, parseEnvelope, parsePayload } from '../../src/trust/index.js';
import { enrollTestAgent } from '../support/agent-files.js';
import { runAgentOnce } from '../support/agent-runs.js';
import { runStewardJson, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { createHttpsSite, deployOverHttps, type HttpsSite } from './support/https-site.js';

let site: HttpsSite;

beforeAll(async () => {
  site = await createHttpsSite('RTH');
}, 120_000);

afterAll(async () => {
  await stopAllStewardProcesses();
  await site.remove();
});

async function heldEndorsement(dataDir: string): Promise<{ keyIds: string[]; caCertificate: string }> {
  const state = JSON.parse(await readFile(agentLayout(dataDir).tls, 'utf8')) as {
    caCertificate: string;
    caEndorsement: string;
  };
  return {
    keyIds: parseEnvelope(state.caEndorsement).signatures.map((s) => s.keyid),
    caCertificate: state.caCertificate,
  };
}

async function deployAndWait(dataDir: string, clientId: string, name: string): Promise<void> {
  const deploymentId = await deployOverHttps(site, {
    name,
    files: { 'install.sh': `echo ${name} > "$STEWARD_AGENT_DIR/${name}.txt"\n` },
    commandLine: 'sh install.sh',
    clientIds: [clientId],
  });
  await waitUntil(
    async () => {
      const run = await runAgentOnce(dataDir);
      if (run.cycle.errors.length > 0) throw new Error(run.cycle.errors.join('; '));
      const view = await site.api<{ summary: { succeeded: number } }>('GET', `/deployments/${deploymentId}`);
      return view.summary.succeeded === 1;
    },
    `the deployment ${name} to succeed over mutual TLS`,
    90_000,
    500,
  );
  expect(await readFile(join(dataDir, `${name}.txt`), 'utf8')).toBe(`${name}\n`);
}

describe('root rotation over HTTPS', () => {
  it('the TLS CA endorsement is signed again by the new root; the agent follows (C1) and keeps deploying over mutual TLS', async () => {
    const dataDir = join(site.dir, 'agent-1');
    const enrolled = await enrollTestAgent(dataDir, site.url, site.init.rootKeyId, {
      token: site.init.enrolmentToken,
      hostname: 'tls-rotation-agent',
    });
    expect(enrolled.state).toBe('approved');
    await deployAndWait(dataDir, enrolled.clientId, 'before-rotation');
    expect((await heldEndorsement(dataDir)).keyIds).toEqual([site.init.rootKeyId]);

    await site.stop();
    const rotated = await runStewardJson<{
      version: number;
      keys: { keyId: string }[];
      tlsCaEndorsements: number[];
    }>(['trust', 'rotate-root', '--data', site.dataDir]);
    expect(rotated.version).toBe(2);
    expect(rotated.tlsCaEndorsements).toEqual([1]);
    await site.start();

    await deployAndWait(dataDir, enrolled.clientId, 'after-rotation');
    const trust = JSON.parse(await readFile(agentLayout(dataDir).trust, 'utf8')) as { chain: string[] };
    expect(
      trust.chain.map(
        (encoded) => parsePayload('root', envelopePayloadBytes(parseEnvelope(encoded))).version,
      ),
    ).toEqual([1, 2]);
    const endorsement = await heldEndorsement(dataDir);
    expect(endorsement.keyIds).toEqual(rotated.keys.map((k) => k.keyId));
    expect(endorsement.caCertificate.trim()).toBe(site.caPem.trim());
  }, 240_000);
});
