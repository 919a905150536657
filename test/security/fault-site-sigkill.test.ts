/**
 * Issue 5, fault 1: the site server is killed (SIGKILL, no shutdown work at all) while 500 simulated
 * agents are in the middle of a deployment: some polling, some downloading, some reporting. It is
 * started again on the same data folder; every agent then completes (the agents only retry, as
 * real agents do), and the site holds exactly the status messages the agents sent: each once,
 * none lost, none doubled. The agents run their own checks throughout (C3 sequence, C4, C5), so a
 * restarted site that served an older assignment list (a rollback) would fail the test too.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { registerClient } from '../../src/site/clients/client-store.js';
import { openSiteDatabase } from '../../src/site/database/open.js';
import { inTransaction } from '../../src/site/database/site-db.js';
import { createSiteProcessWith, type KillableSiteProcess } from '../support/site-process-options.js';
import {
  fleetSteps,
  fleetTrust,
  SimulatedFleetAgent,
  type FleetCounters,
} from '../support/simulated-fleet.js';
import { stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { TestClient } from '../support/test-pki.js';

const siteCode = 'SFK';
const fleetSize = 500;
const clients = Array.from(
  { length: fleetSize },
  (_, i) => new TestClient(`sim-${String(i).padStart(3, '0')}`, siteCode),
);
let site: KillableSiteProcess;
let deploymentId: string;

beforeAll(async () => {
  site = await createSiteProcessWith(siteCode, {
    // 500 machines enrolled earlier: written in one transaction before the site first starts.
    beforeStart: async (dataDir) => {
      const database = await openSiteDatabase({ kind: 'pglite', dataDir: siteDataLayout(dataDir).database });
      const now = new Date();
      await inTransaction(database.db, async (trx) => {
        for (const client of clients) {
          await registerClient(trx, {
            id: client.id,
            publicKey: client.key.publicRecord().publicKey,
            siteCode,
            hostname: client.hostname,
            mode: 'secure',
            rootSource: 'pinned',
            registeredAt: now,
            state: 'approved',
            approvedBy: 'test',
          });
        }
      });
      await database.close();
    },
  });
  const source = join(site.dir, 'package');
  await mkdir(join(source, 'lib'), { recursive: true });
  await writeFile(join(source, 'install.sh'), 'echo installed\n');
  await writeFile(join(source, 'lib', 'payload.bin'), Buffer.alloc(64 * 1024, 7));
  const job = await site.api<{ id: string }>('POST', '/packages', {
    name: 'fleet',
    version: '1.0',
    sourcePath: source,
    programs: [{ name: 'install', commandLine: 'sh install.sh' }],
  });
  const done = await waitUntil(async () => {
    const view = await site.api<{ state: string; result: { packageId: string } | null }>(
      'GET',
      `/jobs/${job.id}`,
    );
    return view.state === 'running' ? undefined : view;
  }, 'the package import');
  const collection = await site.api<{ id: string }>('POST', '/collections', {
    name: 'fleet',
    clientIds: clients.map((c) => c.id),
  });
  deploymentId = (
    await site.api<{ id: string }>('POST', '/deployments', {
      packageId: done.result?.packageId,
      programName: 'install',
      collectionId: collection.id,
      mandatory: true,
    })
  ).id;
});

afterAll(async () => {
  await stopAllStewardProcesses();
  const started = site as KillableSiteProcess | undefined;
  if (started !== undefined) await rm(started.dir, { recursive: true, force: true });
});

describe(
  'fault 1: SIGKILL of the site server while 500 agents are mid-deployment',
  { timeout: 180_000 },
  () => {
    it('after the restart every agent completes and the site holds every status message exactly once', async () => {
      const counters: FleetCounters = { acknowledged: 0, retries: 0, completed: 0, refusals: [] };
      const trust = await fleetTrust({ url: site.url, siteCode, rootKeyId: site.init.rootKeyId });
      const agents = clients.map(
        (client, i) =>
          new SimulatedFleetAgent(
            client,
            { url: site.url, siteCode, rootKeyId: site.init.rootKeyId },
            trust,
            counters,
            200 + (i % 10) * 150,
          ),
      );
      const started = performance.now();
      const runs = Promise.all(agents.map((agent) => agent.run(deploymentId)));
      runs.catch(() => undefined);

      // Kill the server once a third of the fleet's messages are in, with agents at every step.
      const expectedMessages = fleetSize * fleetSteps.length;
      await waitUntil(
        () => counters.acknowledged >= expectedMessages / 3,
        'a third of the status messages',
        120_000,
        20,
      );
      const atKill = { acknowledged: counters.acknowledged, completed: counters.completed };
      const killedAt = performance.now();
      await site.kill();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await site.start();
      const restartMs = performance.now() - killedAt;
      await runs;
      const totalMs = performance.now() - started;
      const beforeKillMs = killedAt - started;

      expect(counters.refusals).toEqual([]);
      expect(counters.completed).toBe(fleetSize);
      expect(atKill.completed).toBeLessThan(fleetSize);

      // The site's view, once its inbox processor has applied everything.
      const summary = await waitUntil(
        async () => {
          const view = await site.api<{ summary: { targeted: number; succeeded: number; failed: number } }>(
            'GET',
            `/deployments/${deploymentId}`,
          );
          return view.summary.succeeded === fleetSize ? view.summary : undefined;
        },
        'every agent to count as succeeded at the site',
        60_000,
      );
      expect(summary).toMatchObject({ targeted: fleetSize, succeeded: fleetSize, failed: 0 });

      const expected = new Set(agents.flatMap((agent) => agent.sent.map((id) => `${id}:0`)));
      expect(expected.size).toBe(expectedMessages);
      const stored: string[] = [];
      let before: number | null = null;
      do {
        const page: { items: { id: number; message_id: string }[]; next: number | null } = await site.api(
          'GET',
          `/status-messages?deploymentId=${deploymentId}&limit=500${before === null ? '' : `&before=${before}`}`,
        );
        stored.push(...page.items.map((m) => m.message_id));
        before = page.next;
      } while (before !== null);
      console.log(
        `SIGKILL after ${Math.round(beforeKillMs)} ms with ${atKill.acknowledged}/${expectedMessages} messages acknowledged and ${atKill.completed}/${fleetSize} agents done; ` +
          `restarted in ${Math.round(restartMs)} ms; all ${fleetSize} agents done after ${Math.round(totalMs)} ms ` +
          `(${counters.retries} retried requests); the site holds ${stored.length} messages, ${new Set(stored).size} distinct`,
      );
      expect(stored.length).toBe(expectedMessages);
      expect(new Set(stored).size).toBe(expectedMessages);
      expect(stored.filter((id) => !expected.has(id))).toEqual([]);
    });
  },
);
