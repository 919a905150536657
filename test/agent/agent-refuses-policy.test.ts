/**
 * C3 and C4 in the agent (DESIGN.md section 2; issue 5 attacks 3 and 4): a real agent process,
 * enrolled with its root pinned, polls a management point whose trust is genuine (C1, C2 pass) but
 * whose assignment lists and policy bodies are crafted: replayed, expired, mis-addressed, signed by
 * an uncertified key, tampered, swapped. Each must be refused with its error code, run nothing, cache
 * nothing, and reach the site as a status message (11003 assignments refused, 11004 policy body
 * refused): here the MP stands in for the site and records the agent's verified reports.
 */
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { statusByName, type StatusName } from '../../src/protocol/index.js';
import { SigningKey } from '../../src/trust/index.js';
import { completeCacheEntries, enrollTestAgent, exists, runRecords } from '../support/agent-files.js';
import { agentFolder, runAgentOnce, type AgentRun } from '../support/agent-runs.js';
import { RogueManagementPoint } from '../support/rogue-management-point.js';
import {
  buildAssignments,
  buildTestDeployment,
  buildTestPackage,
  tamperPayload,
  type TestDeployment,
} from '../support/signed-deployments.js';
import { stopAllStewardProcesses } from '../support/steward-process.js';
import { buildSitePki, type TestSitePki } from '../support/test-pki.js';

const day = 24 * 3600 * 1000;

let mp: RogueManagementPoint;
let pki: TestSitePki;
/** Runs the marker program: what must never happen when a check fails. */
let install: TestDeployment;
/** Another deployment of the same site (meant for other machines). */
let other: TestDeployment;
const folders: string[] = [];

async function enrolledAgent(): Promise<{ dataDir: string; clientId: string }> {
  const dataDir = await agentFolder();
  folders.push(dirname(dataDir));
  const enrolled = await enrollTestAgent(dataDir, mp.url, pki.rootKey.keyId);
  return { dataDir, clientId: enrolled.clientId };
}

function statusOf(agent: { clientId: string }, name: StatusName) {
  return mp.statusMessages(agent.clientId).filter((m) => m.statusId === statusByName(name).id);
}

async function lastSequence(dataDir: string): Promise<number | null> {
  const state = JSON.parse(await readFile(agentLayout(dataDir).policy, 'utf8')) as {
    lastSequence: number | null;
  };
  return state.lastSequence;
}

/** Nothing ran, nothing is cached as complete, no run was recorded. */
async function expectNothingExecuted(dataDir: string): Promise<void> {
  expect(await exists(join(dataDir, 'marker'))).toBe(false);
  expect(await completeCacheEntries(dataDir)).toEqual([]);
  expect(await runRecords(dataDir)).toEqual({});
}

/** C3 refusals end the cycle's policy step: the code is in the cycle's errors and in status 11003. */
async function expectAssignmentsRefused(
  agent: { dataDir: string; clientId: string },
  run: AgentRun,
  code: string,
): Promise<void> {
  expect(run.cycle.errors).toEqual([expect.stringMatching(new RegExp(`^${code}: `))]);
  expect(run.cycle.managementPoint).toBe(mp.url);
  const refused = statusOf(agent, 'assignments-refused');
  expect(refused).toHaveLength(1);
  expect(refused[0]?.insertionStrings[0]).toMatch(new RegExp(`^${code}: `));
  expect(statusOf(agent, 'policy-received')).toEqual([]);
  expect(run.cycle.reportsQueued).toBe(0);
  await expectNothingExecuted(agent.dataDir);
}

/** C4 refusals skip the body: status 11004 names the policy and carries the code. */
async function expectBodyRefused(
  agent: { dataDir: string; clientId: string },
  run: AgentRun,
  policyId: string,
  code: string,
): Promise<void> {
  expect(run.cycle.errors).toEqual([]);
  expect(run.cycle.assignments).toBe(0);
  const refused = statusOf(agent, 'policy-body-refused');
  expect(refused).toHaveLength(1);
  expect(refused[0]?.insertionStrings[0]).toBe(policyId);
  expect(refused[0]?.insertionStrings[1]).toMatch(new RegExp(`^${code}: `));
  expect(statusOf(agent, 'policy-received')).toEqual([]);
  await expectNothingExecuted(agent.dataDir);
}

beforeAll(async () => {
  mp = await RogueManagementPoint.start();
  pki = buildSitePki({ mpUrl: mp.url });
  mp.trustBundle = pki.trustBundle;
  const pkg = buildTestPackage(pki, {
    packageId: 'marker-tool',
    files: { 'install.sh': 'echo ran >> "$STEWARD_AGENT_DIR/marker"\n' },
  });
  install = buildTestDeployment(pki, { pkg, contentUrls: [mp.url], commandLine: 'sh install.sh' });
  const otherPkg = buildTestPackage(pki, { packageId: 'other-tool', files: { 'run.sh': 'echo other\n' } });
  other = buildTestDeployment(pki, {
    pkg: otherPkg,
    contentUrls: [mp.url],
    commandLine: 'sh run.sh; echo ran >> "$STEWARD_AGENT_DIR/marker"',
  });
  mp.serveDeployment(install);
  mp.serveDeployment(other);
});

afterAll(async () => {
  await stopAllStewardProcesses();
  await mp.close();
  await Promise.all(folders.map((f) => rm(f, { recursive: true, force: true })));
});

describe('the crafted documents are genuine when unaltered', () => {
  it('C3, C4, C5 accept a correct assignment list, body and content: the program runs once', async () => {
    const agent = await enrolledAgent();
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 1, deployments: [install] }),
    );
    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle.errors).toEqual([]);
    expect(await readFile(join(agent.dataDir, 'marker'), 'utf8')).toBe('ran\n');
    expect(statusOf(agent, 'program-succeeded')).toHaveLength(1);
    expect(await completeCacheEntries(agent.dataDir)).toEqual(['marker-tool/1.0']);
  });
});

describe('C3: the agent refuses assignment lists', () => {
  it('C3 refuses an assignment list replayed from earlier (older sequence, ERR_ROLLBACK, status 11003)', async () => {
    const agent = await enrolledAgent();
    const earlier = buildAssignments(pki, { clientId: agent.clientId, sequence: 3, deployments: [install] });
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 5, deployments: [] }),
    );
    const first = await runAgentOnce(agent.dataDir);
    expect(first.cycle.errors).toEqual([]);
    expect(await lastSequence(agent.dataDir)).toBe(5);

    mp.policies.set(agent.clientId, earlier);
    const replayed = await runAgentOnce(agent.dataDir);
    await expectAssignmentsRefused(agent, replayed, 'ERR_ROLLBACK');
    expect(await lastSequence(agent.dataDir)).toBe(5);
  });

  it('C3 refuses an expired assignment list (a freeze, ERR_EXPIRED)', async () => {
    const agent = await enrolledAgent();
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, {
        clientId: agent.clientId,
        sequence: 1,
        deployments: [install],
        issuedAt: new Date(Date.now() - 2 * day),
        expiresAt: new Date(Date.now() - day),
      }),
    );
    await expectAssignmentsRefused(agent, await runAgentOnce(agent.dataDir), 'ERR_EXPIRED');
  });

  it('C3 refuses its held list once it expires while the MP keeps answering "unchanged" (304, ERR_EXPIRED)', async () => {
    const agent = await enrolledAgent();
    // Mandatory only tomorrow: the first cycle accepts the list but runs nothing yet.
    const tomorrow = new Date(Date.now() + day).toISOString();
    const later = buildTestDeployment(pki, {
      pkg: install.pkg,
      policyId: 'later-policy',
      deploymentId: 'ABC-dep-later',
      contentUrls: [mp.url],
      commandLine: 'sh install.sh',
      schedule: { availableAt: new Date().toISOString(), mandatoryAt: tomorrow, expiresAt: null },
    });
    mp.serveDeployment(later);
    // Long enough for the first cycle to finish on a busy machine; then the list expires.
    const expiresAt = new Date(Date.now() + 5000);
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 1, deployments: [later], expiresAt }),
    );
    const first = await runAgentOnce(agent.dataDir);
    expect(first.cycle.errors).toEqual([]);
    expect(first.cycle.assignments).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 100));

    const before = mp.requests.length;
    const frozen = await runAgentOnce(agent.dataDir);
    const policyAnswers = mp.requests.slice(before).filter((r) => r.url.endsWith('/policy'));
    expect(policyAnswers).toHaveLength(1); // answered 304: the agent re-checked its held copy
    expect(frozen.cycle.errors).toEqual([expect.stringMatching(/^ERR_EXPIRED: /)]);
    expect(frozen.cycle.assignments).toBe(0);
    const refused = statusOf(agent, 'assignments-refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.insertionStrings[0]).toMatch(/^ERR_EXPIRED: /);
  });

  it('C3 refuses an assignment list addressed to another client (ERR_WRONG_RECIPIENT)', async () => {
    const agent = await enrolledAgent();
    const someoneElse = SigningKey.generate().keyId;
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: someoneElse, sequence: 1, deployments: [install] }),
    );
    await expectAssignmentsRefused(agent, await runAgentOnce(agent.dataDir), 'ERR_WRONG_RECIPIENT');
  });

  it('C3 refuses an assignment list addressed to another site (ERR_WRONG_RECIPIENT)', async () => {
    const agent = await enrolledAgent();
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, {
        clientId: agent.clientId,
        siteCode: 'XYZ',
        sequence: 1,
        deployments: [install],
      }),
    );
    await expectAssignmentsRefused(agent, await runAgentOnce(agent.dataDir), 'ERR_WRONG_RECIPIENT');
  });

  it('C3 refuses an assignment list signed by an uncertified MP key (ERR_UNKNOWN_KEY)', async () => {
    const agent = await enrolledAgent();
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, {
        clientId: agent.clientId,
        sequence: 1,
        deployments: [install],
        signer: SigningKey.generate(),
      }),
    );
    await expectAssignmentsRefused(agent, await runAgentOnce(agent.dataDir), 'ERR_UNKNOWN_KEY');
  });

  it('C3 refuses a tampered assignment list (ERR_SIGNATURE_INVALID)', async () => {
    const agent = await enrolledAgent();
    const genuine = buildAssignments(pki, { clientId: agent.clientId, sequence: 1, deployments: [] });
    mp.policies.set(agent.clientId, tamperPayload(genuine, '"sequence":1', '"sequence":9'));
    await expectAssignmentsRefused(agent, await runAgentOnce(agent.dataDir), 'ERR_SIGNATURE_INVALID');
  });

  it('C3 refuses a different list under the sequence already accepted (the sequence must move)', async () => {
    const agent = await enrolledAgent();
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 4, deployments: [] }),
    );
    expect((await runAgentOnce(agent.dataDir)).cycle.errors).toEqual([]);
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 4, deployments: [install] }),
    );
    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle.assignments).toBe(0);
    const refused = statusOf(agent, 'assignments-refused');
    expect(refused.map((m) => m.insertionStrings[0])).toEqual(['same sequence with different content']);
    await expectNothingExecuted(agent.dataDir);
  });
});

describe('C4: the agent refuses policy bodies', () => {
  it('C4 refuses a policy body modified after signing (ERR_SIGNATURE_INVALID, status 11004)', async () => {
    const agent = await enrolledAgent();
    const tampered = { ...install, policyId: 'tampered-policy' };
    mp.bodies.set(
      'tampered-policy/1',
      tamperPayload(
        install.body.encoded,
        '"commandLine":"sh install.sh"',
        '"commandLine":"sh install.sh;id"',
      ),
    );
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 1, deployments: [tampered] }),
    );
    await expectBodyRefused(
      agent,
      await runAgentOnce(agent.dataDir),
      'tampered-policy',
      'ERR_SIGNATURE_INVALID',
    );
  });

  it('C4 refuses a policy body signed by an uncertified key (ERR_UNKNOWN_KEY)', async () => {
    const agent = await enrolledAgent();
    const forged = buildTestDeployment(pki, {
      pkg: install.pkg,
      policyId: 'forged-policy',
      contentUrls: [mp.url],
      commandLine: 'sh install.sh',
      signer: SigningKey.generate(),
    });
    mp.serveDeployment(forged);
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 1, deployments: [forged] }),
    );
    await expectBodyRefused(agent, await runAgentOnce(agent.dataDir), 'forged-policy', 'ERR_UNKNOWN_KEY');
  });

  it('C4 refuses a body swapped between two deployments (mix and match, ERR_HASH_MISMATCH)', async () => {
    const agent = await enrolledAgent();
    // The list names a harmless deployment; the MP answers with another genuine, site-signed body.
    const harmless = buildTestDeployment(pki, {
      pkg: other.pkg,
      policyId: 'harmless-policy',
      deploymentId: 'ABC-dep-harmless',
      contentUrls: [mp.url],
      commandLine: 'sh run.sh',
    });
    mp.bodies.set('harmless-policy/1', other.body.encoded);
    mp.policies.set(
      agent.clientId,
      buildAssignments(pki, { clientId: agent.clientId, sequence: 1, deployments: [harmless] }),
    );
    await expectBodyRefused(agent, await runAgentOnce(agent.dataDir), 'harmless-policy', 'ERR_HASH_MISMATCH');
  });
});
