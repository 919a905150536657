/**
 * C1 and C2 in the agent (DESIGN.md section 2; issue 5 attacks 1, 2 and 6): a real agent process
 * talks over loopback to a rogue management point that serves crafted trust bundles. The rogue MP
 * also serves a complete deployment signed by its own hierarchy, so an agent that wrongly accepted
 * the rogue's keys would run its program: every refusal is checked to leave no marker file, no
 * complete cache entry, no run record, the held root chain unchanged, and the right status message
 * (11001 root refused, 11002 MP certificate refused) in the agent's durable report queue: the
 * victim cannot reach an honest site, so the message waits there.
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { statusByName, type StatusName, type TrustBundle } from '../../src/protocol/index.js';
import {
  createRootDocument,
  fingerprintOf,
  issueMpCertificate,
  issueSiteCertificate,
  SigningKey,
} from '../../src/trust/index.js';
import {
  completeCacheEntries,
  enrollTestAgent,
  exists,
  queuedStatus,
  runRecords,
} from '../support/agent-files.js';
import { agentFolder, runAgentOnce } from '../support/agent-runs.js';
import { RogueManagementPoint } from '../support/rogue-management-point.js';
import { buildAssignments, buildTestDeployment, buildTestPackage } from '../support/signed-deployments.js';
import { runSteward, stopAllStewardProcesses } from '../support/steward-process.js';
import { buildSitePki, type TestSitePki } from '../support/test-pki.js';

const day = 24 * 3600 * 1000;
const markerScript = 'echo ran >> "$STEWARD_AGENT_DIR/marker"\n';

let mp: RogueManagementPoint;
/** The hierarchy the agents trust (their pinned root). */
let honest: TestSitePki;
/** Another hierarchy with the same site code: its keys must never be accepted. */
let rogue: TestSitePki;
const folders: string[] = [];

function validity(offsetDays = 0): { issuedAt: string; expiresAt: string } {
  const now = Date.now() + offsetDays * day;
  return { issuedAt: new Date(now - day).toISOString(), expiresAt: new Date(now + 30 * day).toISOString() };
}

function mpCertificate(
  mpKey: SigningKey,
  signers: SigningKey[],
  changes: { siteCode?: string; issuedAt?: string; expiresAt?: string } = {},
): string {
  return issueMpCertificate(
    {
      version: 2,
      mpName: 'ABC-MP1',
      siteCode: changes.siteCode ?? 'ABC',
      urls: [mp.url],
      mpKey: mpKey.publicRecord(),
      ...validity(),
      ...changes,
    },
    signers,
  ).encoded;
}

function siteCertificate(siteKey: SigningKey, signers: SigningKey[]): string {
  return issueSiteCertificate(
    {
      version: 2,
      siteCode: 'ABC',
      siteName: 'Site ABC',
      siteKey: siteKey.publicRecord(),
      parentSiteCode: null,
      siteType: 'central',
      ...validity(),
    },
    signers,
  ).encoded;
}

function rootDocument(version: number, keys: SigningKey[], threshold: number, signers: SigningKey[]): string {
  const { issuedAt, expiresAt } = validity();
  return createRootDocument({ version, keys, threshold, issuedAt, expiresAt }, signers).encoded;
}

/**
 * An agent enrolled with the honest root pinned (or on first use), then served the rogue
 * hierarchy's deployment: if it ever trusted the rogue's MP and site keys, it would run it.
 */
async function enrolledAgent(pinned = true): Promise<{ dataDir: string; clientId: string }> {
  const dataDir = await agentFolder();
  folders.push(dirname(dataDir));
  mp.trustBundle = honest.trustBundle;
  const enrolled = await enrollTestAgent(dataDir, mp.url, pinned ? honest.rootKey.keyId : null, {
    mode: pinned ? 'secure' : 'trust-on-first-use',
  });
  const pkg = buildTestPackage(rogue, { packageId: 'rogue-tool', files: { 'install.sh': markerScript } });
  const deployment = buildTestDeployment(rogue, { pkg, contentUrls: [mp.url], commandLine: 'sh install.sh' });
  mp.serveDeployment(deployment);
  mp.policies.set(
    enrolled.clientId,
    buildAssignments(rogue, { clientId: enrolled.clientId, sequence: 1, deployments: [deployment] }),
  );
  return { dataDir, clientId: enrolled.clientId };
}

/** Serves `bundle`, runs the agent once and checks it refused with `code` and queued `status`. */
async function expectRefused(
  agent: { dataDir: string; clientId: string },
  bundle: TrustBundle,
  code: string,
  status: StatusName,
): Promise<void> {
  const trustBefore = await readFile(agentLayout(agent.dataDir).trust, 'utf8');
  mp.trustBundle = bundle;
  const run = await runAgentOnce(agent.dataDir);
  expect(run.code).toBe(1);
  expect(run.cycle.managementPoint).toBeNull();
  expect(run.cycle.errors).toHaveLength(1);
  expect(run.cycle.errors[0]).toMatch(new RegExp(`^${code}: `));
  // Refused and reported: the status message waits in the durable queue with the error code.
  const queued = await queuedStatus(agent.dataDir);
  const refusal = queued.filter((m) => m.statusId === statusByName(status).id);
  expect(refusal).toHaveLength(1);
  expect(refusal[0]?.insertionStrings[0]).toMatch(new RegExp(`^${code}: `));
  // Nothing executed, nothing cached, nothing stored, nothing sent to the rogue.
  expect(await exists(join(agent.dataDir, 'marker'))).toBe(false);
  expect(await completeCacheEntries(agent.dataDir)).toEqual([]);
  expect(await runRecords(agent.dataDir)).toEqual({});
  expect(await readFile(agentLayout(agent.dataDir).trust, 'utf8')).toBe(trustBefore);
  expect(mp.requests.some((r) => r.url.includes(agent.clientId))).toBe(false);
  expect(mp.reports.filter((r) => r.payload.clientId === agent.clientId)).toEqual([]);
}

beforeAll(async () => {
  mp = await RogueManagementPoint.start();
  honest = buildSitePki({ mpUrl: mp.url });
  rogue = buildSitePki({ mpUrl: mp.url });
});

afterAll(async () => {
  await stopAllStewardProcesses();
  await mp.close();
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

describe('C2: the agent refuses a rogue management point certificate', () => {
  for (const pinned of [true, false]) {
    const anchor = pinned ? 'root pinned' : 'root trusted on first use';

    it(`C2 refuses a self-signed MP certificate, ${anchor} (ERR_UNKNOWN_KEY, status 11002)`, async () => {
      const agent = await enrolledAgent(pinned);
      await expectRefused(
        agent,
        { ...honest.trustBundle, mpCertificate: mpCertificate(rogue.mpKey, [rogue.mpKey]) },
        'ERR_UNKNOWN_KEY',
        'mp-certificate-refused',
      );
    });

    it(`C2 refuses an MP certificate signed by another hierarchy's root, ${anchor} (ERR_UNKNOWN_KEY)`, async () => {
      const agent = await enrolledAgent(pinned);
      await expectRefused(agent, rogue.trustBundle, 'ERR_UNKNOWN_KEY', 'mp-certificate-refused');
    });
  }

  it('C2 refuses an MP certificate for another site (ERR_CERTIFICATE_SITE_MISMATCH)', async () => {
    const agent = await enrolledAgent();
    await expectRefused(
      agent,
      {
        ...honest.trustBundle,
        mpCertificate: mpCertificate(rogue.mpKey, [honest.rootKey], { siteCode: 'XYZ' }),
      },
      'ERR_CERTIFICATE_SITE_MISMATCH',
      'mp-certificate-refused',
    );
  });

  it('C2 ignores another site\u2019s MP among the site\u2019s management points: its URL is not learnt, a list it signed is refused (C3)', async () => {
    const agent = await enrolledAgent();
    const otherSite = issueMpCertificate(
      {
        version: 1,
        mpName: 'XYZ-MP2',
        siteCode: 'XYZ',
        urls: ['http://127.0.0.1:9/'],
        mpKey: rogue.mpKey.publicRecord(),
        ...validity(),
      },
      [honest.rootKey],
    ).encoded;
    mp.trustBundle = {
      ...honest.trustBundle,
      managementPoints: [honest.trustBundle.mpCertificate, otherSite],
    };
    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle.managementPoint).toBe(mp.url);
    expect(run.cycle.assignments).toBe(0);
    expect(run.cycle.errors.join(' ')).toMatch(/ERR_UNKNOWN_KEY/);
    const config = JSON.parse(await readFile(agentLayout(agent.dataDir).config, 'utf8')) as {
      managementPoints: string[];
    };
    expect(config.managementPoints).toEqual([mp.url]);
    expect(await exists(join(agent.dataDir, 'marker'))).toBe(false);
  });

  it('C2 refuses an expired MP certificate (ERR_EXPIRED)', async () => {
    const agent = await enrolledAgent();
    const expired = {
      issuedAt: new Date(Date.now() - 60 * day).toISOString(),
      expiresAt: new Date(Date.now() - day).toISOString(),
    };
    await expectRefused(
      agent,
      { ...honest.trustBundle, mpCertificate: mpCertificate(honest.mpKey, [honest.rootKey], expired) },
      'ERR_EXPIRED',
      'mp-certificate-refused',
    );
  });

  it('C2 refuses an MP key change not chained to the root (new key certified by the old MP key)', async () => {
    const agent = await enrolledAgent();
    await expectRefused(
      agent,
      { ...honest.trustBundle, mpCertificate: mpCertificate(rogue.mpKey, [honest.mpKey]) },
      'ERR_UNKNOWN_KEY',
      'mp-certificate-refused',
    );
  });
  it("C2 refuses an MP certificate signed below the root's threshold (ERR_THRESHOLD_NOT_MET, status 11002)", async () => {
    const agent = await enrolledAgent();
    const [first, second] = [SigningKey.generate(), SigningKey.generate()];
    // A valid rotation to a root of two keys, threshold two; the MP certificate carries only one.
    await expectRefused(
      agent,
      {
        siteCode: 'ABC',
        rootChain: [
          honest.rootDocument.encoded,
          rootDocument(2, [first, second], 2, [honest.rootKey, first, second]),
        ],
        siteCertificates: [siteCertificate(honest.siteKey, [first, second])],
        mpCertificate: mpCertificate(rogue.mpKey, [first]),
      },
      'ERR_THRESHOLD_NOT_MET',
      'mp-certificate-refused',
    );
  });
});

describe('C1: the agent follows only valid root rotations', () => {
  it('C1 refuses a rotation signed only by the new keys (ERR_THRESHOLD_NOT_MET, status 11001)', async () => {
    const agent = await enrolledAgent();
    const next = SigningKey.generate();
    await expectRefused(
      agent,
      {
        siteCode: 'ABC',
        rootChain: [honest.rootDocument.encoded, rootDocument(2, [next], 1, [next])],
        siteCertificates: [siteCertificate(rogue.siteKey, [next])],
        mpCertificate: mpCertificate(rogue.mpKey, [next]),
      },
      'ERR_THRESHOLD_NOT_MET',
      'root-refused',
    );
  });

  it("C1 refuses a rotation below its own keys' threshold (ERR_THRESHOLD_NOT_MET)", async () => {
    const agent = await enrolledAgent();
    const [first, second] = [SigningKey.generate(), SigningKey.generate()];
    await expectRefused(
      agent,
      {
        siteCode: 'ABC',
        rootChain: [
          honest.rootDocument.encoded,
          rootDocument(2, [first, second], 2, [honest.rootKey, first]),
        ],
        siteCertificates: [siteCertificate(rogue.siteKey, [first, second])],
        mpCertificate: mpCertificate(rogue.mpKey, [first, second]),
      },
      'ERR_THRESHOLD_NOT_MET',
      'root-refused',
    );
  });

  it('C1 refuses a rotation that skips a version (ERR_ROTATION_CHAIN)', async () => {
    const agent = await enrolledAgent();
    const next = SigningKey.generate();
    await expectRefused(
      agent,
      {
        siteCode: 'ABC',
        rootChain: [honest.rootDocument.encoded, rootDocument(3, [next], 1, [honest.rootKey, next])],
        siteCertificates: [siteCertificate(rogue.siteKey, [next])],
        mpCertificate: mpCertificate(rogue.mpKey, [next]),
      },
      'ERR_ROTATION_CHAIN',
      'root-refused',
    );
  });

  it('C1 refuses a rotation to a root that has already expired (a freeze, ERR_EXPIRED, status 11001)', async () => {
    const agent = await enrolledAgent();
    const next = SigningKey.generate();
    const expired = createRootDocument(
      {
        version: 2,
        keys: [next],
        threshold: 1,
        issuedAt: new Date(Date.now() - 60 * day),
        expiresAt: new Date(Date.now() - day),
      },
      [honest.rootKey, next],
    ).encoded;
    await expectRefused(
      agent,
      {
        siteCode: 'ABC',
        rootChain: [honest.rootDocument.encoded, expired],
        siteCertificates: [siteCertificate(rogue.siteKey, [next])],
        mpCertificate: mpCertificate(rogue.mpKey, [next]),
      },
      'ERR_EXPIRED',
      'root-refused',
    );
  });

  it('C1 follows a valid rotation (old and new keys signed) and reports it (status 11010)', async () => {
    const agent = await enrolledAgent();
    const next = SigningKey.generate();
    // The honest site after a rotation: its certificates re-issued by the new root key.
    const pkg = buildTestPackage(honest, { packageId: 'honest-tool', files: { 'install.sh': markerScript } });
    const deployment = buildTestDeployment(honest, {
      pkg,
      contentUrls: [mp.url],
      commandLine: 'sh install.sh',
    });
    mp.serveDeployment(deployment);
    mp.policies.set(
      agent.clientId,
      buildAssignments(honest, { clientId: agent.clientId, sequence: 1, deployments: [deployment] }),
    );
    mp.trustBundle = {
      siteCode: 'ABC',
      rootChain: [honest.rootDocument.encoded, rootDocument(2, [next], 1, [honest.rootKey, next])],
      siteCertificates: [siteCertificate(honest.siteKey, [next])],
      mpCertificate: mpCertificate(honest.mpKey, [next]),
    };
    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle.errors).toEqual([]);
    expect(run.code).toBe(0);
    const trust = JSON.parse(await readFile(agentLayout(agent.dataDir).trust, 'utf8')) as { chain: string[] };
    expect(trust.chain).toHaveLength(2);
    const statusIds = mp.statusMessages(agent.clientId).map((m) => m.statusId);
    expect(statusIds).toContain(statusByName('root-rotated').id);
    expect(statusIds).toContain(statusByName('program-succeeded').id);
    expect(await readFile(join(agent.dataDir, 'marker'), 'utf8')).toBe('ran\n');
  });
});

describe('C1, C2 at enrolment: nothing is written when the management point is not trusted', () => {
  it('C1 refuses to enrol with a pinned root when the MP offers another hierarchy (ERR_ROOT_PIN_MISMATCH)', async () => {
    const dataDir = await agentFolder();
    folders.push(dirname(dataDir));
    mp.trustBundle = rogue.trustBundle;
    const registrations = mp.requests.filter((r) => r.url === '/mp/v1/register').length;
    const result = await runSteward([
      'agent',
      'enroll',
      '--data',
      dataDir,
      '--mp',
      mp.url,
      '--root-key',
      fingerprintOf(honest.rootKey.keyId),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error ERR_ROOT_PIN_MISMATCH: /m);
    expect(await exists(dataDir)).toBe(false);
    expect(mp.requests.filter((r) => r.url === '/mp/v1/register')).toHaveLength(registrations);
  });

  it('C2 refuses to enrol, even on first use, with a self-signed MP certificate (ERR_UNKNOWN_KEY)', async () => {
    const dataDir = await agentFolder();
    folders.push(dirname(dataDir));
    mp.trustBundle = { ...rogue.trustBundle, mpCertificate: mpCertificate(rogue.mpKey, [rogue.mpKey]) };
    const result = await runSteward([
      'agent',
      'enroll',
      '--data',
      dataDir,
      '--mp',
      mp.url,
      '--mode',
      'trust-on-first-use',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error ERR_UNKNOWN_KEY: /m);
    expect(await exists(dataDir)).toBe(false);
  });

  it('C1 secure mode refuses to enrol without a pinned root (ERR_ROOT_REQUIRED)', async () => {
    const dataDir = await agentFolder();
    folders.push(dirname(dataDir));
    mp.trustBundle = honest.trustBundle;
    const result = await runSteward([
      'agent',
      'enroll',
      '--data',
      dataDir,
      '--mp',
      mp.url,
      '--mode',
      'secure',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error ERR_ROOT_REQUIRED: /m);
    expect(await exists(dataDir)).toBe(false);
  });

  it('refuses to enrol a folder twice (ERR_ALREADY_ENROLLED), keeping the first enrolment', async () => {
    const agent = await enrolledAgent();
    const config = await readFile(agentLayout(agent.dataDir).config, 'utf8');
    const result = await runSteward([
      'agent',
      'enroll',
      '--data',
      agent.dataDir,
      '--mp',
      mp.url,
      '--mode',
      'trust-on-first-use',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error ERR_ALREADY_ENROLLED: /m);
    expect(await readFile(agentLayout(agent.dataDir).config, 'utf8')).toBe(config);
  });

  it('agent run refuses a folder that holds no enrolled agent (ERR_NOT_ENROLLED)', async () => {
    const dataDir = await agentFolder();
    folders.push(dirname(dataDir));
    const result = await runSteward(['agent', 'run', '--data', dataDir, '--once']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/^error ERR_NOT_ENROLLED: /m);
  });
});
