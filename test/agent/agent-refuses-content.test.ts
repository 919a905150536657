/**
 * C5 in the agent (DESIGN.md section 2; issue 5 attack 5): a real agent process accepts genuine
 * trust, assignments and a genuine policy body, then downloads content from a distribution point
 * that lies: a flipped byte, a file added to the manifest, a file longer than declared, an endless
 * stream, a manifest of another package, a path escaping the package folder, a package larger than
 * the cache. Each must be refused with its error code, delete the download, run nothing, and reach
 * the site as a status message (10053 hash mismatch, 11005 manifest refused, 10054 cache full);
 * the MP stands in for the site and records the agent's verified reports.
 */
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusByName, type StatusName } from '../../src/protocol/index.js';
import { SigningKey } from '../../src/trust/index.js';
import {
  cachedFiles,
  completeCacheEntries,
  enrollTestAgent,
  exists,
  runRecords,
} from '../support/agent-files.js';
import { agentFolder, runAgentOnce, type AgentRun } from '../support/agent-runs.js';
import { RogueManagementPoint, type FileAnswer } from '../support/rogue-management-point.js';
import {
  buildAssignments,
  buildTestDeployment,
  buildTestPackage,
  manifestPayload,
  signRawDocument,
  tamperPayload,
  type ServedDocument,
  type TestDeployment,
  type TestPackage,
} from '../support/signed-deployments.js';
import { stopAllStewardProcesses } from '../support/steward-process.js';
import { buildSitePki, type TestSitePki } from '../support/test-pki.js';

const installScript = 'echo ran >> "$STEWARD_AGENT_DIR/marker"\n';
const payloadBytes = Buffer.alloc(200 * 1024, 0x5a);

let mp: RogueManagementPoint;
let pki: TestSitePki;
const folders: string[] = [];
let packageCount = 0;

function newPackage(files: Record<string, string | Buffer> = {}): TestPackage {
  packageCount += 1;
  return buildTestPackage(pki, {
    packageId: `tool-${packageCount}`,
    files: { 'install.sh': installScript, 'data/payload.bin': payloadBytes, ...files },
  });
}

/**
 * An enrolled agent assigned a genuine deployment of `pkg`, whose manifest and files the DP then
 * serves with the given changes.
 */
async function agentWith(
  pkg: TestPackage,
  changes: { manifest?: ServedDocument; manifestHash?: string; answers?: Record<string, FileAnswer[]> } = {},
): Promise<{ dataDir: string; clientId: string; deployment: TestDeployment }> {
  const dataDir = await agentFolder();
  folders.push(dirname(dataDir));
  const { clientId } = await enrollTestAgent(dataDir, mp.url, pki.rootKey.keyId);
  const deployment = buildTestDeployment(pki, {
    pkg: changes.manifest === undefined ? pkg : { ...pkg, manifest: changes.manifest },
    contentUrls: [mp.url],
    commandLine: 'sh install.sh',
    ...(changes.manifestHash === undefined ? {} : { manifestHash: changes.manifestHash }),
  });
  mp.serveDeployment(deployment);
  for (const [path, answers] of Object.entries(changes.answers ?? {}))
    mp.fileAnswers.set(`${pkg.packageId}/${pkg.version}/${path}`, answers);
  mp.policies.set(clientId, buildAssignments(pki, { clientId, sequence: 1, deployments: [deployment] }));
  return { dataDir, clientId, deployment };
}

/** Refused with `code` and reported as `status` for this deployment; nothing ran, nothing kept. */
async function expectContentRefused(
  agent: { dataDir: string; clientId: string; deployment: TestDeployment },
  run: AgentRun,
  code: string,
  status: StatusName,
): Promise<void> {
  expect(run.cycle.errors).toEqual([]);
  const messages = mp.statusMessages(agent.clientId);
  const refusal = messages.filter((m) => m.statusId === statusByName(status).id);
  expect(refusal).toHaveLength(1);
  expect(refusal[0]?.deploymentId).toBe(agent.deployment.deploymentId);
  expect(refusal[0]?.insertionStrings[0]).toMatch(new RegExp(`^${code}: `));
  const ids = messages.map((m) => m.statusId);
  expect(ids).not.toContain(statusByName('program-started').id);
  expect(ids).not.toContain(statusByName('download-completed').id);
  expect(await exists(join(agent.dataDir, 'marker'))).toBe(false);
  expect(await completeCacheEntries(agent.dataDir)).toEqual([]);
  expect(
    await cachedFiles(agent.dataDir, agent.deployment.pkg.packageId, agent.deployment.pkg.version),
  ).toEqual([]);
  expect(await runRecords(agent.dataDir)).toEqual({});
}

beforeAll(async () => {
  mp = await RogueManagementPoint.start();
  pki = buildSitePki({ mpUrl: mp.url });
  mp.trustBundle = pki.trustBundle;
});

afterAll(async () => {
  await stopAllStewardProcesses();
  await mp.close();
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

describe('C5: genuine content is accepted', () => {
  it('C5 downloads, verifies and runs a genuine package (control for the refusals below)', async () => {
    const pkg = newPackage();
    const agent = await agentWith(pkg);
    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle.errors).toEqual([]);
    expect(await exists(join(agent.dataDir, 'marker'))).toBe(true);
    expect(await completeCacheEntries(agent.dataDir)).toEqual([`${pkg.packageId}/1.0`]);
    expect(await cachedFiles(agent.dataDir, pkg.packageId, '1.0')).toEqual([
      'complete',
      'files/data/payload.bin',
      'files/install.sh',
    ]);
  });
});

describe('C5: the agent refuses content that does not match its signed manifest', () => {
  it('C5 refuses a file with one byte changed (ERR_HASH_MISMATCH, status 10053) and deletes the download', async () => {
    const pkg = newPackage();
    const flipped = Buffer.from(payloadBytes);
    flipped[1000] = 0x5b;
    const agent = await agentWith(pkg, {
      answers: { 'data/payload.bin': [{ kind: 'bytes', bytes: flipped }] },
    });
    await expectContentRefused(
      agent,
      await runAgentOnce(agent.dataDir),
      'ERR_HASH_MISMATCH',
      'hash-mismatch',
    );
  });

  it('C5 refuses a file longer than the manifest declares (ERR_CONTENT_SIZE)', async () => {
    const pkg = newPackage();
    const longer = Buffer.concat([payloadBytes, Buffer.from('#!/bin/sh\nrm -rf ~\n')]);
    const agent = await agentWith(pkg, {
      answers: { 'data/payload.bin': [{ kind: 'bytes', bytes: longer }] },
    });
    await expectContentRefused(agent, await runAgentOnce(agent.dataDir), 'ERR_CONTENT_SIZE', 'hash-mismatch');
  });

  it('C5 stops an endless stream at the declared size (ERR_CONTENT_SIZE)', async () => {
    const pkg = newPackage();
    const agent = await agentWith(pkg, { answers: { 'data/payload.bin': [{ kind: 'endless' }] } });
    const run = await runAgentOnce(agent.dataDir);
    await expectContentRefused(agent, run, 'ERR_CONTENT_SIZE', 'hash-mismatch');
    // The agent hung up: the stream ended because its client went away, not because it ran dry.
    expect(mp.endless.closed).toBe(true);
    expect(mp.endless.bytesPushed).toBeLessThan(64 * 1024 * 1024);
  });

  it('C5 refuses a file shorter than declared (ERR_CONTENT_SIZE)', async () => {
    const pkg = newPackage();
    const shorter = payloadBytes.subarray(0, payloadBytes.length - 1);
    const agent = await agentWith(pkg, {
      answers: { 'data/payload.bin': [{ kind: 'bytes', bytes: shorter }] },
    });
    await expectContentRefused(agent, await runAgentOnce(agent.dataDir), 'ERR_CONTENT_SIZE', 'hash-mismatch');
  });
});

describe('C5: the agent refuses manifests', () => {
  it('C5 refuses a manifest with a file added after signing (ERR_SIGNATURE_INVALID, status 11005)', async () => {
    const pkg = newPackage();
    const agent = await agentWith(pkg);
    const added = tamperPayload(
      pkg.manifest.encoded,
      '"files":[',
      `"files":[{"path":"evil.sh","size":4,"sha256":"${'0'.repeat(64)}"},`,
    );
    mp.manifests.set(`${pkg.packageId}/1.0`, added);
    await expectContentRefused(
      agent,
      await runAgentOnce(agent.dataDir),
      'ERR_SIGNATURE_INVALID',
      'manifest-refused',
    );
  });

  it('C5 refuses a site-signed manifest with a file added that the policy body does not name (ERR_HASH_MISMATCH, status 11005)', async () => {
    const pkg = newPackage();
    const agent = await agentWith(pkg);
    const files = [...pkg.files, { path: 'evil.sh', bytes: Buffer.from('id\n') }];
    const resigned = signRawDocument(
      'content-manifest',
      manifestPayload('ABC', pkg.packageId, '1.0', files),
      [pki.siteKey],
    );
    mp.manifests.set(`${pkg.packageId}/1.0`, resigned.encoded);
    mp.files.set(`${pkg.packageId}/1.0/evil.sh`, Buffer.from('id\n'));
    await expectContentRefused(
      agent,
      await runAgentOnce(agent.dataDir),
      'ERR_HASH_MISMATCH',
      'manifest-refused',
    );
  });

  it('C5 refuses the genuine manifest of another package served in its place (ERR_HASH_MISMATCH)', async () => {
    const pkg = newPackage();
    const otherPackage = newPackage();
    const agent = await agentWith(pkg);
    mp.manifests.set(`${pkg.packageId}/1.0`, otherPackage.manifest.encoded);
    await expectContentRefused(
      agent,
      await runAgentOnce(agent.dataDir),
      'ERR_HASH_MISMATCH',
      'manifest-refused',
    );
  });

  it('C5 refuses a body whose manifest hash names another package (ERR_PAYLOAD_INVALID)', async () => {
    const pkg = newPackage();
    const otherPackage = newPackage();
    // The body is site-signed and promises the other package's genuine manifest.
    const agent = await agentWith(pkg, { manifestHash: otherPackage.manifest.hash });
    mp.manifests.set(`${pkg.packageId}/1.0`, otherPackage.manifest.encoded);
    await expectContentRefused(
      agent,
      await runAgentOnce(agent.dataDir),
      'ERR_PAYLOAD_INVALID',
      'manifest-refused',
    );
  });

  it('C5 refuses a manifest signed by an uncertified key (ERR_UNKNOWN_KEY)', async () => {
    const pkg = newPackage();
    const forged = signRawDocument(
      'content-manifest',
      manifestPayload('ABC', pkg.packageId, '1.0', pkg.files),
      [SigningKey.generate()],
    );
    const agent = await agentWith(pkg, { manifest: forged });
    await expectContentRefused(
      agent,
      await runAgentOnce(agent.dataDir),
      'ERR_UNKNOWN_KEY',
      'manifest-refused',
    );
  });

  for (const escaping of ['../escaped.sh', 'data/../../escaped.sh', '/tmp/escaped.sh']) {
    it(`C5 refuses a site-signed manifest with a path escaping the package: ${escaping} (ERR_PAYLOAD_INVALID)`, async () => {
      const pkg = newPackage();
      const files = [...pkg.files, { path: escaping, bytes: Buffer.from('id\n') }];
      const manifest = signRawDocument(
        'content-manifest',
        manifestPayload('ABC', pkg.packageId, '1.0', files),
        [pki.siteKey],
      );
      // A compromised site key signs both the manifest and the body that promises it.
      const agent = await agentWith(pkg, { manifest, manifestHash: manifest.hash });
      mp.files.set(`${pkg.packageId}/1.0/${escaping}`, Buffer.from('id\n'));
      await expectContentRefused(
        agent,
        await runAgentOnce(agent.dataDir),
        'ERR_PAYLOAD_INVALID',
        'manifest-refused',
      );
      const agentRoot = dirname(agent.dataDir);
      expect(await readdir(agentRoot)).toEqual(['agent']);
      expect(mp.fileRequests('escaped.sh')).toEqual([]);
    });
  }
});

describe('C5, C6: sizes are checked before any download', () => {
  it('C5 refuses a package larger than the cache before requesting a byte (ERR_CACHE_FULL, status 10054)', async () => {
    const pkg = newPackage({ 'data/large.bin': Buffer.alloc(2 * 1024 * 1024, 1) });
    const agent = await agentWith(pkg);
    const run = await runAgentOnce(agent.dataDir, ['--cache-size', '1']);
    await expectContentRefused(agent, run, 'ERR_CACHE_FULL', 'cache-full');
    expect(mp.requests.filter((r) => r.url.includes(`/${pkg.packageId}/1.0/files/`))).toEqual([]);
  });
});
