/**
 * The site hierarchy end to end (docs/hierarchy.md): a central, a primary and a secondary site,
 * each its own `steward site start` process on loopback, joined with join tokens (the secondary
 * through the real `steward site init --parent` command). A package and a deployment created at
 * the central site reach an agent at the secondary site through its proxy management point and its
 * distribution point; the agent's status reaches the central site.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusByName } from '../../src/protocol/index.js';
import { envelopePayloadBytes, parseEnvelope, parsePayload } from '../../src/trust/index.js';
import { agentFolder, runAgentOnce } from '../support/agent-runs.js';
import {
  runSteward,
  runStewardJson,
  stopAllStewardProcesses,
  waitUntil,
} from '../support/steward-process.js';
import {
  createCentralSite,
  hierarchyOf,
  issueJoinToken,
  joinChildSite,
  linkTo,
  type HierarchySite,
} from './support/hierarchy-sites.js';

let central: HierarchySite;
let primary: HierarchySite;
let secondary: HierarchySite;
/** The agent enrolled at the secondary site by the deployment test. */
let branchAgent: { dir: string; clientId: string } | undefined;

beforeAll(async () => {
  central = await createCentralSite('CEN');
  await central.start();
  primary = await joinChildSite(central, 'PRI', 'primary');
  await primary.start();
  secondary = await joinChildSite(primary, 'SEC', 'secondary', { cli: true });
  await secondary.start();
}, 300_000);

afterAll(async () => {
  await stopAllStewardProcesses();
});

/** Imports a package at a site from files written here; resolves with its id once imported. */
async function importPackage(
  site: HierarchySite,
  name: string,
  files: Record<string, string>,
): Promise<string> {
  const source = join(site.dir, `source-${name}`);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(source, path, '..'), { recursive: true });
    await writeFile(join(source, path), content);
  }
  const job = await site.api<{ id: string }>('POST', '/packages', {
    name,
    version: '1.0',
    sourcePath: source,
    programs: [{ name: 'install', commandLine: 'sh install.sh', timeLimitSeconds: 60 }],
  });
  const done = await waitUntil(async () => {
    const view = await site.api<{ state: string; result: { packageId: string } | null }>(
      'GET',
      `/jobs/${job.id}`,
    );
    return view.state === 'running' ? undefined : view;
  }, `the import of ${name}`);
  if (done.result === null) throw new Error(`the import of ${name} failed`);
  return done.result.packageId;
}

describe('a three-level hierarchy on loopback', () => {
  it('joins with tokens: the central site certified every key and knows the whole hierarchy', async () => {
    const view = await waitUntil(async () => {
      const seen = await hierarchyOf(central);
      const codes = seen.sites.filter((s) => s.certified).map((s) => s.code);
      return codes.includes('PRI') && codes.includes('SEC') ? seen : undefined;
    }, 'the central site to know PRI and SEC');
    expect(view.sites.find((s) => s.code === 'SEC')?.parentCode).toBe('PRI');
    expect(view.sites.find((s) => s.code === 'SEC')?.type).toBe('secondary');
    expect(linkTo(view, 'PRI').direction).toBe('child');
    const atSecondary = await hierarchyOf(secondary);
    expect(linkTo(atSecondary, 'PRI').direction).toBe('parent');
    // The root the secondary holds is the central site's (it pinned nothing: the token's key did).
    expect(secondary.rootFingerprint).toBe(central.rootFingerprint);
  });

  it('delivers a central deployment to an agent at the secondary site through its proxy MP and DP, and reports back to the centre', async () => {
    // The agent enrols at the secondary site's proxy MP; it belongs to the primary site (as in SMS).
    const agentDir = await agentFolder();
    const enrolled = await runStewardJson<{ clientId: string; siteCode: string; state: string }>([
      'agent',
      'enroll',
      '--data',
      agentDir,
      '--mp',
      secondary.url,
      '--root-key',
      central.rootFingerprint,
      '--token',
      primary.enrolmentToken ?? '',
    ]);
    expect(enrolled).toMatchObject({ siteCode: 'PRI', state: 'approved' });
    branchAgent = { dir: agentDir, clientId: enrolled.clientId };
    const first = await runAgentOnce(agentDir);
    expect(first.cycle.errors).toEqual([]);
    expect(first.cycle.managementPoint).toBe(secondary.url);

    // Up: the client, discovered through the proxy MP and the primary site, is known at the centre.
    await waitUntil(async () => {
      const clients = await central.api<{
        items: { id: string; siteCode: string; lastSeenAt: string | null }[];
      }>('GET', '/clients');
      const found = clients.items.find((c) => c.id === enrolled.clientId);
      return found?.siteCode === 'PRI' && found.lastSeenAt !== null;
    }, 'the central site to know the agent');

    // Down: the package's content reaches the secondary's distribution point, verified.
    const packageId = await importPackage(central, 'branch-tool', {
      'install.sh': 'echo installed by the hierarchy > "$STEWARD_AGENT_DIR/branch-tool.txt"\n',
    });
    await waitUntil(
      async () => {
        const transfers = (await hierarchyOf(secondary)).contentTransfers;
        return transfers.some((t) => t.packageId === packageId && t.state === 'done');
      },
      'the secondary site to hold the package',
      60_000,
    );
    const served = async () =>
      ((await (await fetch(`${secondary.url}/health`)).json()) as { contentRequestsServed: number })
        .contentRequestsServed;
    const servedBefore = await served();

    const collection = await central.api<{ id: string }>('POST', '/collections', {
      name: 'branch office',
      rule: null,
      clientIds: [enrolled.clientId],
    });
    const deployment = await central.api<{ id: string }>('POST', '/deployments', {
      packageId,
      programName: 'install',
      collectionId: collection.id,
      mandatory: true,
    });

    await waitUntil(
      async () => {
        await runAgentOnce(agentDir);
        return (await readFile(join(agentDir, 'branch-tool.txt'), 'utf8').catch(() => '')).includes(
          'installed',
        );
      },
      'the agent at the secondary site to run the program',
      90_000,
      500,
    );
    // The content came from the secondary site's DP (manifest and file), not from the centre's.
    expect(await served()).toBeGreaterThanOrEqual(servedBefore + 2);

    // Up again: the agent's status went proxy MP -> primary (S2) -> central (S3), and the summary follows.
    const succeeded = statusByName('program-succeeded').id;
    await waitUntil(
      async () => {
        const summary = await central.api<{ summary: { succeeded: number; targeted: number } }>(
          'GET',
          `/deployments/${deployment.id}`,
        );
        return summary.summary.succeeded === 1;
      },
      'the central site to count the success',
      60_000,
    );
    const messages = await central.api<{ items: { status_id: number; client_id: string }[] }>(
      'GET',
      `/status-messages?deploymentId=${deployment.id}`,
    );
    expect(messages.items.some((m) => m.status_id === succeeded && m.client_id === enrolled.clientId)).toBe(
      true,
    );
    const bySite = await central.api<{ items: { siteCode: string; summary: { succeeded: number } }[] }>(
      'GET',
      `/hierarchy/deployments/${deployment.id}`,
    );
    await waitUntil(async () => {
      const items = (
        await central.api<{ items: { siteCode: string; summary: { succeeded: number } }[] }>(
          'GET',
          `/hierarchy/deployments/${deployment.id}`,
        )
      ).items;
      return items.find((i) => i.siteCode === 'PRI')?.summary.succeeded === 1;
    }, 'the primary site to report its summary up');
    expect(bySite.items.every((i) => i.siteCode === 'PRI')).toBe(true);

    // Objects created at a parent are read-only at the child.
    const change = await fetch(`${primary.url}/api/v1/deployments/${deployment.id}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${primary.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ state: 'disabled' }),
    });
    expect(change.status).toBe(409);
    expect(((await change.json()) as { error: { code: string } }).error.code).toBe('ERR_READ_ONLY_OBJECT');
  }, 240_000);

  it('serves the branch agent from the proxy MP caches while the primary is down, and forwards its reports when it returns', async () => {
    if (branchAgent === undefined) throw new Error('the deployment test enrols the branch agent');
    const agent = branchAgent;
    const seenBefore = async () =>
      (
        await central.api<{ items: { id: string; lastSeenAt: string | null }[] }>('GET', '/clients')
      ).items.find((c) => c.id === agent.clientId)?.lastSeenAt ?? null;
    const before = await seenBefore();
    await primary.stop();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    // A heartbeat is due: the proxy MP checks it (S2) and queues it in the secondary's outbox.
    const run = await runAgentOnce(agent.dir, ['--heartbeat-interval', '1']);
    expect(run.cycle.errors).toEqual([]);
    expect(run.cycle.assignments).toBe(1);
    expect(run.cycle.managementPoint).toBe(secondary.url);
    expect(run.cycle.reportsQueued).toBe(0);
    const waiting = linkTo(await hierarchyOf(secondary), 'PRI');
    expect(waiting.backlog.records).toBeGreaterThan(0);
    await primary.start();
    await waitUntil(
      async () => {
        const link = linkTo(await hierarchyOf(secondary), 'PRI');
        return link.backlog.records === 0 && link.backlog.batches === 0;
      },
      'the secondary backlog to drain',
      90_000,
    );
    await waitUntil(async () => {
      const seen = await seenBefore();
      return seen !== null && seen !== before;
    }, 'the heartbeat to reach the central site');
  }, 180_000);

  it('shows every link with its backlog, last contact and errors in `steward site status`', async () => {
    const status = await runStewardJson<{
      hierarchy: { links: { siteCode: string; lastContactAt: string | null }[] };
    }>(['site', 'status', '--data', primary.dataDir]);
    const codes = status.hierarchy.links.map((l) => l.siteCode).sort();
    expect(codes).toEqual(['CEN', 'SEC']);
    expect(status.hierarchy.links.every((l) => l.lastContactAt !== null)).toBe(true);
    const human = await runSteward(['site', 'status', '--data', central.dataDir]);
    expect(human.stdout).toContain('Site links:');
    expect(human.stdout).toMatch(/PRI\s+child\s+primary/);
  });

  it("sends clients in a secondary site's boundary to its proxy MP, and refuses boundaries that overlap across sites", async () => {
    await primary.api('POST', '/boundaries', { siteCode: 'SEC', value: '198.51.100.0/24' });
    // The primary's locator answers for the secondary's boundary: the client belongs to PRI (signed
    // by PRI's key, for PRI), and is sent to SEC's proxy MP first.
    const locate = await waitUntil(async () => {
      const response = await fetch(`${primary.url}/slp/v1/locate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ addresses: ['198.51.100.7'] }),
      });
      return response.ok ? ((await response.json()) as { answer: string }) : undefined;
    }, 'the primary locator to answer for the secondary boundary');
    const payload = parsePayload('locator-answer', envelopePayloadBytes(parseEnvelope(locate.answer)));
    expect(payload.siteCode).toBe('PRI');
    expect(payload.boundary).toBe('198.51.100.0/24');
    expect(payload.managementPoints[0]).toEqual({ name: 'SEC-PMP1', urls: [secondary.url] });
    // Up: the central site holds the secondary's boundary, and refuses an overlapping one for itself.
    await waitUntil(async () => {
      const list = await central.api<{ items: { siteCode: string; value: string }[] }>('GET', '/boundaries');
      return list.items.some((b) => b.siteCode === 'SEC' && b.value === '198.51.100.0/24');
    }, 'the central site to hold the secondary boundary');
    const overlap = await fetch(`${central.url}/api/v1/boundaries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${central.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ value: '198.51.100.128/25' }),
    });
    expect(overlap.status).toBe(409);
    expect(((await overlap.json()) as { error: { code: string } }).error.code).toBe('ERR_BOUNDARY_OVERLAP');
  });

  it('refuses a second join with a used token, and a token of another parent before sending anything', async () => {
    const token = await issueJoinToken(primary, 'secondary');
    await joinChildSite(primary, 'SE2', 'secondary', { token });
    await expect(joinChildSite(primary, 'SE3', 'secondary', { token })).rejects.toMatchObject({
      code: 'ERR_JOIN_TOKEN_USED',
    });
    // A token issued by the central site, used against the primary's URL: the primary does not hold
    // the key the token names, so the child stops before it sends its join request.
    const other = await issueJoinToken(central, 'primary');
    const before = (await hierarchyOf(primary)).joins.length;
    const refused = await runSteward([
      'site',
      'init',
      '--data',
      join(primary.dir, 'impostor'),
      '--code',
      'IMP',
      '--listen',
      '127.0.0.1:1',
      '--parent',
      primary.url,
      '--join-token',
      other,
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/^error ERR_PARENT_KEY_MISMATCH:/m);
    expect((await hierarchyOf(primary)).joins.length).toBe(before);
  }, 120_000);
});
