/**
 * `steward trust rotate-root` and `steward trust rotate-mp` end to end (DESIGN.md section 9;
 * docs/operations.md): a real site run by `steward site start`, the commands run as processes on
 * its stopped data folder, and a real agent that pinned the first root (C1) and keeps receiving
 * policy and running deployments after each rotation.
 */
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { statusByName } from '../../src/protocol/index.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { envelopePayloadBytes, parseEnvelope, parsePayload } from '../../src/trust/index.js';
import { enrollTestAgent, exists } from '../support/agent-files.js';
import { runAgentOnce } from '../support/agent-runs.js';
import {
  createSiteProcess,
  deployFiles,
  siteStatusMessages,
  type DeploymentView,
  type SiteProcess,
} from '../support/site-process.js';
import {
  runSteward,
  runStewardJson,
  stopAllStewardProcesses,
  waitUntil,
} from '../support/steward-process.js';

interface TrustShow {
  root: { version: number; threshold: number; keys: { keyId: string; fingerprint: string }[] }[];
  certificates: {
    kind: string;
    subject: string;
    serial: number;
    keyFingerprint: string;
    revoked_at: string | null;
  }[];
}

const hex64 = /^[0-9a-f]{64}$/;
const fingerprint = /^sha256:[0-9a-f]{32}$/;

let site: SiteProcess;
let agentDir: string;
let clientId: string;

beforeAll(async () => {
  site = await createSiteProcess('RTN');
  agentDir = join(site.dir, 'agent-1');
  const enrolled = await enrollTestAgent(agentDir, site.url, site.init.rootKeyId, {
    token: site.init.enrolmentToken,
    hostname: 'rotation-agent',
  });
  expect(enrolled.state).toBe('approved');
  clientId = enrolled.clientId;
}, 120_000);

afterAll(async () => {
  await stopAllStewardProcesses();
  await rm(site.dir, { recursive: true, force: true });
});

/** Deploys a package that writes `marker`, runs the agent once and waits for success at the site. */
async function deployAndRun(marker: string): Promise<void> {
  const { deploymentId } = await deployFiles(site, {
    name: `package-${marker}`,
    files: { 'install.sh': `echo done > "$STEWARD_AGENT_DIR/${marker}"\n` },
    commandLine: 'sh install.sh',
    clientIds: [clientId],
  });
  const run = await runAgentOnce(agentDir);
  expect(run.cycle.errors).toEqual([]);
  expect(run.cycle.assignments).toBeGreaterThan(0);
  expect(await exists(join(agentDir, marker))).toBe(true);
  const done = await waitUntil(async () => {
    const view = await site.api<DeploymentView>('GET', `/deployments/${deploymentId}`);
    return view.summary.succeeded + view.summary.failed === 1 ? view : undefined;
  }, `the deployment writing ${marker} to be reported`);
  expect(done.summary.succeeded).toBe(1);
}

/** The root versions the agent holds (state/trust.json), oldest first. */
async function agentRootVersions(): Promise<number[]> {
  const state = JSON.parse(await readFile(agentLayout(agentDir).trust, 'utf8')) as { chain: string[] };
  return state.chain.map(
    (encoded) => parsePayload('root', envelopePayloadBytes(parseEnvelope(encoded))).version,
  );
}

/** The key that signed the assignment list the agent holds (C3). */
async function heldAssignmentsSigner(): Promise<string | undefined> {
  const { envelope } = JSON.parse(await readFile(`${agentLayout(agentDir).policy}.assignments`, 'utf8')) as {
    envelope: string;
  };
  return parseEnvelope(envelope).signatures[0]?.keyid;
}

describe('steward trust rotate-root and rotate-mp', { timeout: 180_000 }, () => {
  it('rotate-root: refused while the site runs and without the root key; then the agent pinned to version 1 follows to version 2 (C1) and still deploys', async () => {
    await deployAndRun('marker-before');
    expect(await agentRootVersions()).toEqual([1]);

    const whileRunning = await runSteward(['trust', 'rotate-root', '--data', site.dataDir]);
    expect(whileRunning.code).not.toBe(0);
    expect(whileRunning.stderr).toMatch(/^error ERR_DATA_FOLDER_LOCKED: /m);

    await site.stop();
    const layout = siteDataLayout(site.dataDir);
    const offline = join(site.dir, 'root-1.key.offline');
    await rename(layout.rootKey(1), offline);
    const withoutKey = await runSteward(['trust', 'rotate-root', '--data', site.dataDir, '--json']);
    expect(withoutKey.code).not.toBe(0);
    expect(withoutKey.stdout).toBe('');
    expect(withoutKey.stderr).toMatch(/^error ERR_ROOT_KEY_OFFLINE: root version 1 needs 1 of its keys/m);
    await rename(offline, layout.rootKey(1));

    const usage = await runSteward([
      'trust',
      'rotate-root',
      '--data',
      site.dataDir,
      '--keys',
      '1',
      '--threshold',
      '2',
    ]);
    expect(usage.stderr).toMatch(/^error ERR_USAGE: /m);

    const rotated = await runStewardJson<Record<string, unknown>>([
      'trust',
      'rotate-root',
      '--data',
      site.dataDir,
    ]);
    expect(Object.keys(rotated).sort()).toEqual(
      [
        'childSites',
        'expiresAt',
        'interruptedRotation',
        'keys',
        'mpCertificates',
        'previousVersion',
        'retiredKeys',
        'site',
        'siteCertificate',
        'threshold',
        'tlsCaEndorsements',
        'version',
      ].sort(),
    );
    expect(rotated).toMatchObject({
      site: 'RTN',
      previousVersion: 1,
      version: 2,
      threshold: 1,
      keys: [
        {
          keyId: expect.stringMatching(hex64) as string,
          fingerprint: expect.stringMatching(fingerprint) as string,
          file: 'keys/root-1.key',
        },
      ],
      retiredKeys: [
        {
          keyId: site.init.rootKeyId,
          fingerprint: site.init.rootFingerprint,
          file: 'retired-keys/root-v1-1.key',
        },
      ],
      siteCertificate: { siteCode: 'RTN', serial: 2 },
      mpCertificates: [{ name: 'RTN-MP1', serial: 2 }],
      tlsCaEndorsements: [1],
      childSites: [],
      interruptedRotation: null,
    });
    const newRootKeyId = (rotated['keys'] as { keyId: string }[])[0]?.keyId;
    expect(newRootKeyId).not.toBe(site.init.rootKeyId);

    await site.start();
    await deployAndRun('marker-after-root');
    expect(await agentRootVersions()).toEqual([1, 2]);
    // The agent reports the rotation (status 11010 root-rotated, from version 1 to 2).
    const rotatedStatus = await waitUntil(async () => {
      const messages = await siteStatusMessages(site, {
        clientId,
        statusId: statusByName('root-rotated').id,
      });
      return messages.length > 0 ? messages : undefined;
    }, 'the root-rotated status message');
    expect(rotatedStatus[0]?.insertion_strings).toEqual(['1', '2']);

    const shown = await runStewardJson<TrustShow>(['trust', 'show', '--data', site.dataDir]);
    expect(shown.root.map((r) => [r.version, r.keys.map((k) => k.keyId)])).toEqual([
      [1, [site.init.rootKeyId]],
      [2, [newRootKeyId]],
    ]);
  });

  it('rotate-mp: the agent accepts assignment lists signed by the new MP key (C2, C3) and trust show lists the old certificate revoked', async () => {
    const before = await runStewardJson<TrustShow>(['trust', 'show', '--data', site.dataDir]);
    const oldMp = before.certificates.find((c) => c.kind === 'mp-certificate' && c.revoked_at === null);
    expect(oldMp).toBeDefined();
    const oldSigner = await heldAssignmentsSigner();

    await site.stop();
    const rotated = await runStewardJson<{
      site: string;
      mpName: string;
      previousKey: { keyId: string; fingerprint: string };
      key: { keyId: string; fingerprint: string };
      certificate: { serial: number; expiresAt: string; urls: string[] };
      revokedSerials: number[];
    }>(['trust', 'rotate-mp', '--data', site.dataDir]);
    expect(rotated).toMatchObject({
      site: 'RTN',
      mpName: 'RTN-MP1',
      previousKey: { keyId: oldSigner, fingerprint: oldMp?.keyFingerprint },
      key: {
        keyId: expect.stringMatching(hex64) as string,
        fingerprint: expect.stringMatching(fingerprint) as string,
      },
      certificate: { serial: (oldMp?.serial ?? 0) + 1, urls: [site.url] },
      revokedSerials: [oldMp?.serial],
    });
    expect(rotated.key.keyId).not.toBe(oldSigner);

    await site.start();
    await deployAndRun('marker-after-mp');
    expect(await heldAssignmentsSigner()).toBe(rotated.key.keyId);
    // C2: the agent now holds the new certificate's serial, and refuses the old one from then on.
    const trustState = JSON.parse(await readFile(agentLayout(agentDir).trust, 'utf8')) as {
      mpSerials?: Record<string, number>;
    };
    expect(trustState.mpSerials?.['RTN-MP1']).toBe(rotated.certificate.serial);

    const after = await runStewardJson<TrustShow>(['trust', 'show', '--data', site.dataDir]);
    const mpCertificates = after.certificates.filter((c) => c.kind === 'mp-certificate');
    expect(mpCertificates.find((c) => c.serial === oldMp?.serial)?.revoked_at).not.toBeNull();
    const current = mpCertificates.filter((c) => c.revoked_at === null);
    expect(current.map((c) => [c.serial, c.keyFingerprint])).toEqual([
      [rotated.certificate.serial, rotated.key.fingerprint],
    ]);
  });
});
