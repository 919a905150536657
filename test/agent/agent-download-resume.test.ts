/**
 * Resumable downloads (issue 4; issue 5 fault 2): a real agent process downloads from a
 * distribution point that drops the connection part way, or stalls until the agent process is
 * killed with SIGKILL. The partial file stays in the cache (not marked complete, nothing run), and
 * the next run asks for the rest with a Range request, verifies the whole file (C5) and runs the
 * program. Partial bytes are hashed again on resume, never trusted.
 */
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { statusByName } from '../../src/protocol/index.js';
import { completeCacheEntries, enrollTestAgent, exists, runRecords } from '../support/agent-files.js';
import { agentFolder, runAgentOnce } from '../support/agent-runs.js';
import { RogueManagementPoint, type FileAnswer } from '../support/rogue-management-point.js';
import {
  buildAssignments,
  buildTestDeployment,
  buildTestPackage,
  type TestPackage,
} from '../support/signed-deployments.js';
import { startSteward, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { buildSitePki, type TestSitePki } from '../support/test-pki.js';

const fileSize = 1024 * 1024;

/** Bytes that differ from package to package (a linear congruential sequence from `seed`). */
function patternBytes(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  let state = seed >>> 0;
  for (let index = 0; index < size; index += 1) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[index] = state >>> 24;
  }
  return bytes;
}

let mp: RogueManagementPoint;
let pki: TestSitePki;
const folders: string[] = [];
let packageCount = 0;

interface Setup {
  dataDir: string;
  clientId: string;
  pkg: TestPackage;
  payload: Buffer;
  partialPath: string;
}

/** An enrolled agent assigned a package whose 1 MiB file is answered by `answers` first. */
async function agentWithPayload(answers: FileAnswer[]): Promise<Setup> {
  packageCount += 1;
  const payload = patternBytes(fileSize, packageCount);
  const pkg = buildTestPackage(pki, {
    packageId: `resumable-${packageCount}`,
    files: { 'install.sh': 'echo ran >> "$STEWARD_AGENT_DIR/marker"\n', 'data/payload.bin': payload },
  });
  const dataDir = await agentFolder();
  folders.push(dirname(dataDir));
  const { clientId } = await enrollTestAgent(dataDir, mp.url, pki.rootKey.keyId);
  const deployment = buildTestDeployment(pki, { pkg, contentUrls: [mp.url], commandLine: 'sh install.sh' });
  mp.serveDeployment(deployment);
  mp.fileAnswers.set(`${pkg.packageId}/1.0/data/payload.bin`, answers);
  mp.policies.set(clientId, buildAssignments(pki, { clientId, sequence: 1, deployments: [deployment] }));
  const partialPath = join(
    agentLayout(dataDir).cache,
    pkg.packageId,
    '1.0',
    'partial',
    'data',
    'payload.bin',
  );
  return { dataDir, clientId, pkg, payload, partialPath };
}

function payloadRequests(setup: Setup) {
  return mp.requests.filter((r) => r.url.endsWith(`/${setup.pkg.packageId}/1.0/files/data/payload.bin`));
}

/** The interrupted state: a partial file, nothing complete, nothing run. */
async function expectInterrupted(setup: Setup): Promise<number> {
  const partial = await stat(setup.partialPath);
  expect(partial.size).toBeGreaterThan(0);
  expect(partial.size).toBeLessThan(fileSize);
  expect(await completeCacheEntries(setup.dataDir)).toEqual([]);
  expect(await exists(join(setup.dataDir, 'marker'))).toBe(false);
  expect(await runRecords(setup.dataDir)).toEqual({});
  return partial.size;
}

/** The resumed state: the verified file in the cache, the program run once, reported. */
async function expectCompleted(setup: Setup): Promise<void> {
  expect(await completeCacheEntries(setup.dataDir)).toEqual([`${setup.pkg.packageId}/1.0`]);
  const cached = join(
    agentLayout(setup.dataDir).cache,
    setup.pkg.packageId,
    '1.0',
    'files',
    'data',
    'payload.bin',
  );
  expect((await readFile(cached)).equals(setup.payload)).toBe(true);
  expect(await exists(setup.partialPath)).toBe(false);
  expect(await readFile(join(setup.dataDir, 'marker'), 'utf8')).toBe('ran\n');
  const ids = mp.statusMessages(setup.clientId).map((m) => m.statusId);
  expect(ids.filter((id) => id === statusByName('download-completed').id)).toHaveLength(1);
  expect(ids.filter((id) => id === statusByName('program-succeeded').id)).toHaveLength(1);
}

beforeAll(async () => {
  mp = await RogueManagementPoint.start();
  pki = buildSitePki({ mpUrl: mp.url });
  mp.trustBundle = pki.trustBundle;
});

afterEach(async () => {
  await stopAllStewardProcesses();
});

afterAll(async () => {
  await mp.close();
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

describe('an interrupted download resumes with a Range request', () => {
  it('C5 resumes after the distribution point dropped the connection, and verifies the whole file', async () => {
    const setup = await agentWithPayload([{ kind: 'drop-after', bytes: 400 * 1024 }]);
    const first = await runAgentOnce(setup.dataDir);
    expect(first.cycle.errors).toEqual([]);
    const failed = mp
      .statusMessages(setup.clientId)
      .filter((m) => m.statusId === statusByName('download-failed').id);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.insertionStrings[0]).toMatch(/^ERR_DOWNLOAD: /);
    const partialSize = await expectInterrupted(setup);

    await runAgentOnce(setup.dataDir);
    expect(payloadRequests(setup).map((r) => r.range)).toEqual([null, `bytes=${partialSize}-`]);
    await expectCompleted(setup);
  });

  it('C5 resumes after the agent process was killed (SIGKILL) in the middle of a download', async () => {
    const setup = await agentWithPayload([{ kind: 'stall-after', bytes: 300 * 1024 }]);
    const agent = startSteward(['agent', 'run', '--data', setup.dataDir, '--poll-interval', '60']);
    await waitUntil(async () => (await stat(setup.partialPath)).size >= 300 * 1024, 'the partial download');
    await agent.stop('SIGKILL');
    const partialSize = await expectInterrupted(setup);
    expect(partialSize).toBe(300 * 1024);

    // The dead agent's lock is taken over; the download resumes where the file ends.
    const resumed = await runAgentOnce(setup.dataDir);
    expect(resumed.cycle.errors).toEqual([]);
    expect(payloadRequests(setup).map((r) => r.range)).toEqual([null, `bytes=${300 * 1024}-`]);
    await expectCompleted(setup);
  });

  it('C5 starts the file again when the distribution point ignores the Range request', async () => {
    const setup = await agentWithPayload([{ kind: 'drop-after', bytes: 200 * 1024 }]);
    await runAgentOnce(setup.dataDir);
    const partialSize = await expectInterrupted(setup);
    // The next answer is the whole file with 200 OK, as from a server without range support.
    mp.fileAnswers.set(`${setup.pkg.packageId}/1.0/data/payload.bin`, [
      { kind: 'bytes', bytes: setup.payload },
    ]);

    await runAgentOnce(setup.dataDir);
    expect(payloadRequests(setup).map((r) => r.range)).toEqual([null, `bytes=${partialSize}-`, null]);
    await expectCompleted(setup);
  });

  it('C5 hashes the partial bytes again on resume: a corrupted partial file is caught and deleted', async () => {
    const setup = await agentWithPayload([{ kind: 'drop-after', bytes: 400 * 1024 }]);
    await runAgentOnce(setup.dataDir);
    const partialSize = await expectInterrupted(setup);
    const partial = await readFile(setup.partialPath);
    partial[10] = (partial[10] ?? 0) ^ 0xff;
    await writeFile(setup.partialPath, partial);

    await runAgentOnce(setup.dataDir);
    expect(payloadRequests(setup).map((r) => r.range)).toEqual([null, `bytes=${partialSize}-`]);
    const mismatch = mp
      .statusMessages(setup.clientId)
      .filter((m) => m.statusId === statusByName('hash-mismatch').id);
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]?.insertionStrings[0]).toMatch(/^ERR_HASH_MISMATCH: /);
    expect(await exists(setup.partialPath)).toBe(false);
    expect(await completeCacheEntries(setup.dataDir)).toEqual([]);
    expect(await exists(join(setup.dataDir, 'marker'))).toBe(false);

    // The next cycle downloads the whole file afresh and succeeds.
    await runAgentOnce(setup.dataDir);
    expect(payloadRequests(setup).map((r) => r.range)).toEqual([null, `bytes=${partialSize}-`, null]);
    await expectCompleted(setup);
  });
});
