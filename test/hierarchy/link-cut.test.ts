/**
 * A site link cut during a deployment (DESIGN.md section 6; docs/hierarchy.md): the central site is
 * stopped while agents at the primary site run the deployment and report. The primary site keeps
 * every record in its outbox, the link shows the backlog and the error, and when the central site
 * returns the backlog drains in order: nothing is lost, nothing is applied twice, and per client the
 * central site holds the status messages in the order the primary site received them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentFolder, runAgentOnce } from '../support/agent-runs.js';
import { runStewardJson, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import {
  createCentralSite,
  hierarchyOf,
  joinChildSite,
  linkTo,
  type HierarchySite,
} from './support/hierarchy-sites.js';

let central: HierarchySite;
let primary: HierarchySite;

beforeAll(async () => {
  central = await createCentralSite('CTR');
  await central.start();
  primary = await joinChildSite(central, 'PR1', 'primary');
  await primary.start();
}, 180_000);

afterAll(async () => {
  await stopAllStewardProcesses();
});

interface StatusRow {
  id: number;
  message_id: string;
  client_id: string;
  status_id: number;
}

async function statusOf(site: HierarchySite, deploymentId: string): Promise<StatusRow[]> {
  const page = await site.api<{ items: StatusRow[] }>(
    'GET',
    `/status-messages?deploymentId=${deploymentId}&limit=500`,
  );
  return page.items.sort((a, b) => a.id - b.id);
}

describe('a link cut during a deployment', () => {
  it('loses nothing, keeps the order per link, and drains the backlog when the parent returns', async () => {
    const agents: { dir: string; clientId: string }[] = [];
    for (let index = 0; index < 2; index += 1) {
      const dir = await agentFolder();
      const enrolled = await runStewardJson<{ clientId: string }>([
        'agent',
        'enroll',
        '--data',
        dir,
        '--mp',
        primary.url,
        '--root-key',
        central.rootFingerprint,
        '--token',
        primary.enrolmentToken ?? '',
        '--hostname',
        `branch-pc-${index}`,
      ]);
      await runAgentOnce(dir);
      agents.push({ dir, clientId: enrolled.clientId });
    }
    await waitUntil(async () => {
      const clients = await central.api<{ items: { id: string }[] }>('GET', '/clients');
      return agents.every((a) => clients.items.some((c) => c.id === a.clientId));
    }, 'the central site to know both agents');

    const source = join(central.dir, 'source-cut');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'install.sh'), 'echo done\n');
    const job = await central.api<{ id: string }>('POST', '/packages', {
      name: 'cut',
      version: '1.0',
      sourcePath: source,
      programs: [{ name: 'install', commandLine: 'sh install.sh', timeLimitSeconds: 60 }],
    });
    const imported = await waitUntil(async () => {
      const view = await central.api<{ state: string; result: { packageId: string } | null }>(
        'GET',
        `/jobs/${job.id}`,
      );
      return view.state === 'running' ? undefined : view.result;
    }, 'the import');
    if (imported === null) throw new Error('the import failed');
    const collection = await central.api<{ id: string }>('POST', '/collections', {
      name: 'cut clients',
      rule: null,
      clientIds: agents.map((a) => a.clientId),
    });
    const deployment = await central.api<{ id: string }>('POST', '/deployments', {
      packageId: imported.packageId,
      programName: 'install',
      collectionId: collection.id,
      mandatory: true,
    });
    await waitUntil(async () => {
      const list = await primary.api<{ items: { id: string }[] }>('GET', '/deployments');
      const transfers = (await hierarchyOf(primary)).contentTransfers;
      return list.items.some((d) => d.id === deployment.id) && transfers.some((t) => t.state === 'done');
    }, 'the deployment and its content to reach the primary site');

    // The link is cut: the central site stops while the agents run and report.
    await central.stop();
    for (const agent of agents) {
      const run = await runAgentOnce(agent.dir);
      expect(run.cycle.errors).toEqual([]);
      expect(run.cycle.reportsQueued).toBe(0);
    }
    const atPrimary = await waitUntil(async () => {
      const rows = await statusOf(primary, deployment.id);
      return rows.filter((r) => r.status_id === 10009).length === agents.length ? rows : undefined;
    }, 'the primary site to store the agents’ status');
    const cut = await waitUntil(async () => {
      const link = linkTo(await hierarchyOf(primary), 'CTR');
      return link.lastError !== null && link.backlog.records > 0 ? link : undefined;
    }, 'the link to show its backlog and error');
    expect(cut.backlog.records).toBeGreaterThan(0);
    expect(cut.lastError).toMatch(/ERR_SITE_LINK_UNREACHABLE|CTR/);

    // The central site returns: the backlog drains, in order, and nothing is lost.
    await central.start();
    await waitUntil(
      async () => {
        const link = linkTo(await hierarchyOf(primary), 'CTR');
        return (
          link.backlog.records === 0 &&
          link.backlog.batches === 0 &&
          link.acknowledgedSequence === link.outboundSequence
        );
      },
      'the backlog to drain',
      90_000,
    );
    const atCentral = await waitUntil(async () => {
      const rows = await statusOf(central, deployment.id);
      return rows.length >= atPrimary.length ? rows : undefined;
    }, 'the central site to hold every status message');
    expect(new Set(atCentral.map((r) => r.message_id))).toEqual(new Set(atPrimary.map((r) => r.message_id)));
    expect(atCentral.length).toBe(atPrimary.length);
    for (const agent of agents) {
      const order = (rows: StatusRow[]) =>
        rows.filter((r) => r.client_id === agent.clientId).map((r) => r.message_id);
      expect(order(atCentral)).toEqual(order(atPrimary));
    }
    const summary = await central.api<{ summary: { succeeded: number } }>(
      'GET',
      `/deployments/${deployment.id}`,
    );
    expect(summary.summary.succeeded).toBe(agents.length);
    // Both ends agree on the sequence: every batch the primary sent was applied exactly once.
    const primaryLink = linkTo(await hierarchyOf(primary), 'CTR');
    const centralLink = linkTo(await hierarchyOf(central), 'PR1');
    expect(centralLink.inboundSequence).toBe(primaryLink.outboundSequence);
    expect(primaryLink.lastError).toBeNull();
  }, 300_000);
});
