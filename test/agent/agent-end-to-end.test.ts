/**
 * The agent end to end (issue 4; issue 5 fault 2 and attack 5): a real central site run by
 * `steward site start` and real agent processes (`steward agent enroll`, `steward agent run`)
 * over loopback sockets. One site serves the whole file; each test enrols its own agents.
 */
import { appendFile, cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { statusByName } from '../../src/protocol/index.js';
import { envelopePayloadBytes, parseEnvelope, parsePayload } from '../../src/trust/index.js';
import { enrollTestAgent, exists, queuedReports, queuedStatus, runRecords } from '../support/agent-files.js';
import { runAgentOnce } from '../support/agent-runs.js';
import {
  createSiteProcess,
  deployFiles,
  siteStatusMessages,
  type DeploymentView,
  type SiteProcess,
} from '../support/site-process.js';
import {
  runStewardJson,
  signalPid,
  startSteward,
  stopAllStewardProcesses,
  waitUntil,
} from '../support/steward-process.js';

const markerScript = 'echo "installed by steward" > "$STEWARD_AGENT_DIR/marker"\n';

let site: SiteProcess;
/** Process groups of programs left running by a killed agent (stopped by their id in afterAll). */
const orphanGroups: number[] = [];

async function deploymentOf(id: string): Promise<DeploymentView> {
  return site.api<DeploymentView>('GET', `/deployments/${id}`);
}

async function clientStates(id: string) {
  return (
    await site.api<{ items: { clientId: string; state: string; exitCode: number | null }[] }>(
      'GET',
      `/deployments/${id}/clients?limit=500`,
    )
  ).items;
}

/** A fresh agent enrolled in-process (real enrolment over the socket, low key-file cost), approved by token. */
async function enrolledAgent(name: string): Promise<{ dataDir: string; clientId: string }> {
  const dataDir = join(site.dir, name);
  const enrolled = await enrollTestAgent(dataDir, site.url, site.init.rootKeyId, {
    token: site.init.enrolmentToken,
    hostname: name,
  });
  expect(enrolled.state).toBe('approved');
  return { dataDir, clientId: enrolled.clientId };
}

/** The last accepted sequence (state/policy.json) and that of the assignment list held beside it. */
async function heldSequences(dataDir: string): Promise<{ accepted: number | null; held: number | null }> {
  const policyPath = agentLayout(dataDir).policy;
  const state = await readFile(policyPath, 'utf8').then(
    (text) => JSON.parse(text) as { lastSequence: number | null },
    () => ({ lastSequence: null }),
  );
  const { envelope } = JSON.parse(await readFile(`${policyPath}.assignments`, 'utf8')) as {
    envelope: string;
  };
  const payload = parsePayload('policy-assignments', envelopePayloadBytes(parseEnvelope(envelope)));
  return { accepted: state.lastSequence, held: payload.sequence };
}

beforeAll(async () => {
  site = await createSiteProcess('AGT');
});

afterEach(() => {
  for (const group of orphanGroups.splice(0)) signalPid(-group, 'SIGKILL');
});

afterAll(async () => {
  await stopAllStewardProcesses();
  await rm(site.dir, { recursive: true, force: true });
});

// Real processes on a shared CI machine: generous per-test limits (each takes seconds when idle).
describe('an agent managed by a real site', { timeout: 90_000 }, () => {
  it('C1-C5 end to end: enrol with a pinned root, deploy, marker written, succeeded at the site, inventory and heartbeat visible', async () => {
    const names = ['e2e-agent-1', 'e2e-agent-2'];
    const enrolled = await Promise.all(
      names.map((hostname) =>
        runStewardJson<{ clientId: string; state: string; rootSource: string; rootFingerprint: string }>([
          'agent',
          'enroll',
          '--data',
          join(site.dir, hostname),
          '--mp',
          site.url,
          '--root-key',
          site.init.rootFingerprint,
          '--mode',
          'secure',
          '--token',
          site.init.enrolmentToken,
          '--hostname',
          hostname,
        ]),
      ),
    );
    for (const agent of enrolled) {
      expect(agent).toMatchObject({
        state: 'approved',
        rootSource: 'pinned',
        rootFingerprint: site.init.rootFingerprint,
      });
    }
    const agents = names.map((hostname, index) => ({
      hostname,
      dataDir: join(site.dir, hostname),
      clientId: enrolled[index]?.clientId ?? '',
      process: startSteward(['agent', 'run', '--data', join(site.dir, hostname), '--poll-interval', '1']),
    }));

    const { deploymentId } = await deployFiles(site, {
      name: 'marker-package',
      files: { 'install.sh': markerScript, 'docs/README.txt': 'a sample package\n' },
      commandLine: 'sh install.sh',
      clientIds: agents.map((a) => a.clientId),
    });
    const done = await waitUntil(async () => {
      const view = await deploymentOf(deploymentId);
      return view.summary.succeeded + view.summary.failed + view.summary.timedOut === 2 ? view : undefined;
    }, 'both agents to report the deployment');
    expect(done.summary).toMatchObject({ targeted: 2, succeeded: 2, failed: 0, timedOut: 0 });
    const states = await clientStates(deploymentId);
    expect(states.map((s) => [s.state, s.exitCode])).toEqual([
      ['succeeded', 0],
      ['succeeded', 0],
    ]);

    for (const agent of agents) {
      expect(await readFile(join(agent.dataDir, 'marker'), 'utf8')).toBe('installed by steward\n');
      const client = await site.api<{
        client: { state: string; hostname: string };
        discovery: { hostname: string; agent_version: string | null } | null;
        inventory: { facts: Record<string, string>; software: unknown[] };
        statusMessages: { status_id: number; deployment_id: string | null }[];
      }>('GET', `/clients/${agent.clientId}`);
      expect(client.client.state).toBe('approved');
      expect(client.discovery?.hostname).toBe(agent.hostname);
      expect(client.discovery?.agent_version).toMatch(/^\d+\.\d+\.\d+/);
      expect(client.inventory.facts['os.family']).toBe(process.platform);
      expect(Number(client.inventory.facts['memory.totalMb'])).toBeGreaterThan(0);
      const ids = client.statusMessages
        .filter((m) => m.deployment_id === deploymentId)
        .map((m) => m.status_id);
      for (const name of [
        'policy-received',
        'download-started',
        'download-completed',
        'program-started',
        'program-succeeded',
      ] as const)
        expect(ids).toContain(statusByName(name).id);
    }
    // SIGTERM stops an idle agent cleanly.
    for (const agent of agents)
      expect(await agent.process.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('C1 trust on first use is recorded as such and reported to the site (status 11006)', async () => {
    const dataDir = join(site.dir, 'tofu-agent');
    const enrolled = await runStewardJson<{
      clientId: string;
      state: string;
      rootSource: string;
      rootFingerprint: string;
    }>([
      'agent',
      'enroll',
      '--data',
      dataDir,
      '--mp',
      site.url,
      '--mode',
      'trust-on-first-use',
      '--token',
      site.init.enrolmentToken,
      '--hostname',
      'tofu-agent',
    ]);
    expect(enrolled).toMatchObject({
      state: 'approved',
      rootSource: 'first-use',
      rootFingerprint: site.init.rootFingerprint,
    });
    const config = JSON.parse(await readFile(agentLayout(dataDir).config, 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ mode: 'trust-on-first-use', rootSource: 'first-use', rootPin: null });
    const queued = await queuedStatus(dataDir);
    expect(queued.map((m) => m.statusId)).toEqual([statusByName('root-first-use').id]);
    expect(queued[0]?.insertionStrings).toEqual([site.init.rootFingerprint]);

    const run = await runAgentOnce(dataDir);
    expect(run.cycle).toMatchObject({ errors: [], reportsQueued: 0 });
    const atSite = await siteStatusMessages(site, { clientId: enrolled.clientId, statusId: 11006 });
    expect(atSite.map((m) => m.message_id)).toEqual([`${queued[0]?.messageId}:0`]);
  });

  it('C5 refuses content changed in the site content library (status 10053 at the site), nothing runs', async () => {
    const agent = await enrolledAgent('tampered-content-agent');
    const { deploymentId, packageId } = await deployFiles(site, {
      name: 'tampered-package',
      files: { 'install.sh': markerScript },
      commandLine: 'sh install.sh',
      clientIds: [agent.clientId],
    });
    // A byte changed on the distribution point's disk after the manifest was signed.
    const stored = join(siteDataLayout(site.dataDir).content, packageId, '1.0', 'files', 'install.sh');
    const bytes = await readFile(stored);
    bytes[0] = 'E'.charCodeAt(0);
    await writeFile(stored, bytes);

    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle).toMatchObject({ errors: [], reportsQueued: 0 });
    expect(await exists(join(agent.dataDir, 'marker'))).toBe(false);
    expect(await runRecords(agent.dataDir)).toEqual({});
    const mismatch = await siteStatusMessages(site, { clientId: agent.clientId, statusId: 10053 });
    expect(mismatch).toHaveLength(1);
    expect(mismatch[0]?.deployment_id).toBe(deploymentId);
    expect(mismatch[0]?.insertion_strings[0]).toMatch(/^ERR_HASH_MISMATCH: /);
    const view = await deploymentOf(deploymentId);
    expect(view.summary).toMatchObject({ targeted: 1, failed: 1, succeeded: 0 });
  });

  it('never runs a "never rerun" deployment twice: an agent killed (SIGKILL) while the program runs reports it failed (interrupted)', async () => {
    const agent = await enrolledAgent('killed-agent');
    const { deploymentId } = await deployFiles(site, {
      name: 'slow-package',
      files: {
        'install.sh': [
          // The process group id (field 5 of /proc/PID/stat): the agent starts each program in its own group.
          'cut -d " " -f 5 /proc/$$/stat >> "$STEWARD_AGENT_DIR/runs.log"',
          'sleep 30',
          'echo done > "$STEWARD_AGENT_DIR/marker"',
          '',
        ].join('\n'),
      },
      commandLine: 'sh install.sh',
      clientIds: [agent.clientId],
      rerun: 'never',
    });
    const runsLog = join(agent.dataDir, 'runs.log');
    const running = startSteward(['agent', 'run', '--data', agent.dataDir, '--poll-interval', '1']);
    const group = await waitUntil(
      async () => Number((await readFile(runsLog, 'utf8')).trim()) || undefined,
      'the program to start',
    );
    orphanGroups.push(group);
    expect(await runRecords(agent.dataDir)).toMatchObject({ [deploymentId]: { state: 'running', runs: 1 } });
    await running.stop('SIGKILL');
    // The program's process group outlives the killed agent; the test ends it by its id.
    signalPid(-group, 'SIGKILL');
    // C3: the sequence of the list being acted on was made durable before anything ran.
    const { accepted, held } = await heldSequences(agent.dataDir);
    expect(held).toBeGreaterThan(0);
    expect(accepted).toBe(held);

    const restarted = await runAgentOnce(agent.dataDir);
    expect(restarted.cycle).toMatchObject({ errors: [], reportsQueued: 0 });
    await runAgentOnce(agent.dataDir);
    expect((await readFile(runsLog, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(await exists(join(agent.dataDir, 'marker'))).toBe(false);
    expect(await runRecords(agent.dataDir)).toMatchObject({
      [deploymentId]: { state: 'interrupted', runs: 1 },
    });
    const failed = await siteStatusMessages(site, {
      clientId: agent.clientId,
      statusId: statusByName('program-failed').id,
    });
    expect(failed).toHaveLength(1);
    expect(failed[0]?.deployment_id).toBe(deploymentId);
    expect(failed[0]?.insertion_strings[0]).toMatch(/^interrupted/);
    expect((await clientStates(deploymentId)).map((s) => s.state)).toEqual(['failed']);
  });

  it('every report arrives exactly once when the site was stopped while the agent had unsent reports', async () => {
    const agent = await enrolledAgent('outage-agent');
    const { deploymentId } = await deployFiles(site, {
      name: 'outage-package',
      files: {
        'install.sh': [
          'touch "$STEWARD_AGENT_DIR/started"',
          'while [ ! -f "$STEWARD_AGENT_DIR/go" ]; do sleep 0.1; done',
          'echo done > "$STEWARD_AGENT_DIR/marker"',
          '',
        ].join('\n'),
      },
      commandLine: 'sh install.sh',
      clientIds: [agent.clientId],
    });
    const running = startSteward(['agent', 'run', '--data', agent.dataDir, '--poll-interval', '1']);
    await waitUntil(() => exists(join(agent.dataDir, 'started')), 'the program to start');
    await site.stop();
    await appendFile(join(agent.dataDir, 'go'), 'go\n');
    await waitUntil(
      async () =>
        (await queuedStatus(agent.dataDir)).some((m) => m.statusId === statusByName('program-succeeded').id),
      'the outcome to be queued',
    );
    // A few cycles against the stopped site: nothing is lost, nothing leaves the queue.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await running.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    // Progress up to "program started" was flushed before the program ran; the outcome, produced
    // while the site was down, is what stays queued.
    const unsent = await queuedReports(agent.dataDir);
    expect(unsent.map((r) => r.reportType)).toContain('status');
    const unsentStatus = await queuedStatus(agent.dataDir);
    expect(unsentStatus.map((m) => m.statusId)).toEqual([statusByName('program-succeeded').id]);
    const backup = join(site.dir, 'outage-queue-backup');
    await cp(agentLayout(agent.dataDir).queue, backup, { recursive: true });

    await site.start();
    const resent = await runAgentOnce(agent.dataDir);
    expect(resent.cycle).toMatchObject({ errors: [], reportsQueued: 0 });
    expect(resent.cycle.reportsSent).toBeGreaterThanOrEqual(unsent.length);
    // The acknowledgements "lost": the same reports are sent again with the same message ids.
    await cp(backup, agentLayout(agent.dataDir).queue, { recursive: true });
    expect(await readdir(agentLayout(agent.dataDir).queue)).toHaveLength(unsent.length);
    const again = await runAgentOnce(agent.dataDir);
    expect(again.cycle).toMatchObject({ errors: [], reportsQueued: 0 });
    expect(await readdir(agentLayout(agent.dataDir).queue)).toEqual([]);

    const atSite = await siteStatusMessages(site, { clientId: agent.clientId });
    const counts = new Map<string, number>();
    for (const message of atSite) counts.set(message.message_id, (counts.get(message.message_id) ?? 0) + 1);
    for (const message of unsentStatus) expect(counts.get(`${message.messageId}:0`)).toBe(1);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(
      atSite
        .filter((m) => m.deployment_id === deploymentId)
        .map((m) => m.status_id)
        .sort(),
    ).toEqual(
      (
        [
          'policy-received',
          'download-started',
          'download-completed',
          'program-started',
          'program-succeeded',
        ] as const
      )
        .map((name) => statusByName(name).id)
        .sort(),
    );
    expect((await clientStates(deploymentId)).map((s) => s.state)).toEqual(['succeeded']);
    const client = await site.api<{
      discovery: { hostname: string } | null;
      inventory: { facts: Record<string, string> };
    }>('GET', `/clients/${agent.clientId}`);
    expect(client.discovery?.hostname).toBe('outage-agent');
    expect(client.inventory.facts['os.family']).toBe(process.platform);
  });
});
