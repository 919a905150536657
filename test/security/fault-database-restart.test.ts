/**
 * Issue 5, fault 3: the site database (PostgreSQL, a private cluster this test starts and stops;
 * the shared server on 5432 is never touched) restarts under load. While it is down the management
 * point keeps answering cached policy from memory (304, and 200 with the cached list), writes are
 * refused with 503 ERR_DATABASE (retryable), and no answer is a 500; when it is back everything
 * recovers without an operator: the same site process (same PID) stores the reports the agents
 * kept, each exactly once, and its inbox processor applies them.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  managementPointPaths,
  reportBatchAnswerSchema,
  statusByName,
  type StatusMessage,
} from '../../src/protocol/index.js';
import { randomId } from '../../src/trust/index.js';
import { httpRequest, sleep, type HttpAnswer } from '../support/http-client.js';
import {
  createPrivateCluster,
  privateClusterSkipReason,
  type PrivateCluster,
} from '../support/private-postgres.js';
import { createSiteProcessWith, type KillableSiteProcess } from '../support/site-process-options.js';
import { stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { TestClient } from '../support/test-pki.js';

const skip = privateClusterSkipReason();
const siteCode = 'SFD';
let cluster: PrivateCluster;
let site: KillableSiteProcess;
const agents = Array.from({ length: 8 }, (_, i) => new TestClient(`db-agent-${i}`, siteCode));

type Phase = 'before' | 'down' | 'after';
interface Observation {
  phase: Phase;
  what: 'poll' | 'poll-full' | 'reports' | 'admin';
  status: number;
  code: string | null;
  retryable: boolean | null;
}

/** A request that never rejects: a site that is gone (crashed) is recorded as status 0. */
async function attempt(url: string, options: Parameters<typeof httpRequest>[1] = {}): Promise<HttpAnswer> {
  try {
    return await httpRequest(url, { timeoutMs: 10_000, ...options });
  } catch (error) {
    const text = JSON.stringify({ error: { code: 'UNREACHABLE', message: String(error), retryable: true } });
    return { status: 0, headers: {}, text, json: () => JSON.parse(text) as unknown };
  }
}

function observe(phase: Phase, what: Observation['what'], answer: HttpAnswer): Observation {
  let code: string | null = null;
  let retryable: boolean | null = null;
  if (answer.status >= 400 || answer.status === 0) {
    const body = answer.json() as { error: { code: string; retryable: boolean } };
    code = body.error.code;
    retryable = body.error.retryable;
  }
  return { phase, what, status: answer.status, code, retryable };
}

beforeAll(async () => {
  if (skip !== undefined) return;
  cluster = await createPrivateCluster();
  await cluster.query('create database steward_fault');
  site = await createSiteProcessWith(siteCode, { database: cluster.url('steward_fault') });
  for (const agent of agents) {
    const answer = await httpRequest(`${site.url}${managementPointPaths.register}`, {
      body: { registration: agent.registration({ enrolmentToken: site.init.enrolmentToken }) },
    });
    expect(answer.json()).toMatchObject({ state: 'approved' });
  }
  // A deployment to every agent, so each cached assignment list names a policy body.
  const source = join(site.dir, 'source');
  await mkdir(source, { recursive: true });
  await writeFile(join(source, 'install.sh'), 'echo ok\n');
  const job = await site.api<{ id: string }>('POST', '/packages', {
    name: 'db-restart',
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
    name: 'db restart',
    clientIds: agents.map((a) => a.id),
  });
  await site.api('POST', '/deployments', {
    packageId: done.result?.packageId,
    programName: 'install',
    collectionId: collection.id,
    mandatory: true,
  });
});

afterAll(async () => {
  await stopAllStewardProcesses();
  const started = site as KillableSiteProcess | undefined;
  if (started !== undefined) await rm(started.dir, { recursive: true, force: true });
  await (cluster as PrivateCluster | undefined)?.destroy();
});

describe.skipIf(skip !== undefined)(
  `fault 3: the PostgreSQL site database restarts under load${skip === undefined ? '' : ` [skipped: ${skip}]`}`,
  { timeout: 120_000 },
  () => {
    it('cached policy keeps being served, writes get 503 ERR_DATABASE (retryable), and all recovers without an operator', async () => {
      const pid = site.process?.pid;
      let phase: Phase = 'before';
      const observations: Observation[] = [];
      const etags = new Map<string, string>();
      const cachedBodies = new Map<string, string>();
      // Each agent's queue of signed status reports, kept until the site acknowledges them.
      const queues = new Map<string, { messageId: string; encoded: string }[]>();
      const sent = new Map<string, string>();
      const acknowledged = new Set<string>();

      // Warm the policy cache: every agent holds its list and ETag, and a second round is all 304
      // (the lists settled after the deployment was created).
      await waitUntil(async () => {
        let unchanged = true;
        for (const agent of agents) {
          const answer = await httpRequest(`${site.url}${managementPointPaths.policy(agent.id)}`, {
            headers: { 'if-none-match': etags.get(agent.id) ?? '' },
          });
          if (answer.status === 304) continue;
          unchanged = false;
          if (answer.status !== 200 || !answer.text.includes('policy-assignments')) return false;
          etags.set(agent.id, String(answer.headers['etag']));
          cachedBodies.set(agent.id, answer.text);
        }
        return unchanged;
      }, 'every agent to hold a settled assignment list');

      let running = true;
      const agentLoop = async (agent: TestClient) => {
        const queue: { messageId: string; encoded: string }[] = [];
        queues.set(agent.id, queue);
        let round = 0;
        while (running) {
          round += 1;
          const poll = await attempt(`${site.url}${managementPointPaths.policy(agent.id)}`, {
            headers: { 'if-none-match': etags.get(agent.id) ?? '' },
          });
          observations.push(observe(phase, 'poll', poll));
          if (poll.status === 200) {
            etags.set(agent.id, String(poll.headers['etag']));
            cachedBodies.set(agent.id, poll.text);
          }
          if (round % 3 === 0) {
            const full = await attempt(`${site.url}${managementPointPaths.policy(agent.id)}`);
            const observation = observe(phase, 'poll-full', full);
            // While the database is down the full answer must be the list held in memory.
            if (full.status === 200 && phase === 'down' && full.text !== cachedBodies.get(agent.id))
              observation.code = 'NOT_THE_CACHED_LIST';
            observations.push(observation);
            if (full.status === 200 && phase !== 'down') cachedBodies.set(agent.id, full.text);
          }
          const marker = `db-${randomId().slice(0, 10)}`;
          const message: StatusMessage = {
            statusId: statusByName('policy-received').id,
            deploymentId: null,
            policyVersion: null,
            occurredAt: new Date().toISOString(),
            insertionStrings: [marker],
            exitCode: null,
            outputTail: null,
          };
          const report = agent.status([message]);
          queue.push({ messageId: report.messageId, encoded: report.encoded });
          sent.set(report.messageId, agent.id);
          const answer = await attempt(`${site.url}${managementPointPaths.reports}`, {
            body: { reports: queue.slice(0, 100).map((r) => r.encoded) },
          });
          observations.push(observe(phase, 'reports', answer));
          if (answer.status === 200) {
            const results = reportBatchAnswerSchema.parse(answer.json()).results;
            const batch = queue.splice(0, results.length);
            batch.forEach((r, i) => {
              const result = results[i];
              if (result?.status === 'stored' || result?.status === 'duplicate')
                acknowledged.add(r.messageId);
              else queue.push(r);
            });
          }
          await sleep(100);
        }
      };
      const loops = agents.map((agent) => agentLoop(agent));
      const admin = async () => {
        const answer = await attempt(`${site.url}/api/v1/clients?limit=5`, {
          headers: { authorization: `Bearer ${site.token}` },
        });
        observations.push(observe(phase, 'admin', answer));
      };

      const timing = { downMs: 0, recoveryMs: 0 };
      try {
        await sleep(1500);
        await admin();
        phase = 'down';
        const stoppedAt = performance.now();
        await cluster.stop();
        await sleep(2500);
        await admin();
        await cluster.start();
        timing.downMs = performance.now() - stoppedAt;
        phase = 'after';
        if (site.process?.running() !== true)
          throw new Error(`the site server died with its database: ${site.process?.stderr() ?? ''}`);
        // Recovery: the agents' queues drain on their own (no operator action at the site).
        const recoveredAt = performance.now();
        await waitUntil(
          () =>
            [...queues.values()].every((q) => q.length === 0) &&
            observations.some((o) => o.phase === 'after' && o.what === 'reports' && o.status === 200),
          'the agents to deliver every queued report',
          30_000,
        );
        timing.recoveryMs = performance.now() - recoveredAt;
        await admin();
      } finally {
        running = false;
        await Promise.all(loops);
      }

      const summary = (p: Phase) => {
        const counts = new Map<string, number>();
        for (const o of observations.filter((x) => x.phase === p)) {
          const key = `${o.what} ${o.status}${o.code === null ? '' : ` ${o.code}`}`;
          counts.set(key, (counts.get(key) ?? 0) + 1);
        }
        return JSON.stringify(Object.fromEntries([...counts.entries()].sort()));
      };
      console.log(
        `database down ${Math.round(timing.downMs)} ms, recovered in ${Math.round(timing.recoveryMs)} ms after restart\n` +
          `  before: ${summary('before')}\n  down:   ${summary('down')}\n  after:  ${summary('after')}`,
      );

      // Never a 500: only answers, cached policy, or the retryable database error; never no answer.
      expect(observations.filter((o) => o.status === 0)).toEqual([]);
      for (const o of observations) {
        expect(o.status === 500 || o.status === 502 || o.status === 504).toBe(false);
        if (o.status >= 500)
          expect({ code: o.code, retryable: o.retryable }).toEqual({ code: 'ERR_DATABASE', retryable: true });
      }
      const down = observations.filter((o) => o.phase === 'down');
      // Cached policy from memory: conditional polls 304, full polls 200 with the cached list.
      expect(down.filter((o) => o.what === 'poll').map((o) => o.status)).toEqual(
        down.filter((o) => o.what === 'poll').map(() => 304),
      );
      expect(
        down.filter((o) => o.what === 'poll-full').every((o) => o.status === 200 && o.code === null),
      ).toBe(true);
      // Writes were refused with the retryable error while the database was away.
      expect(down.some((o) => o.what === 'reports' && o.status === 503)).toBe(true);
      expect(down.find((o) => o.what === 'admin')).toMatchObject({
        status: 503,
        code: 'ERR_DATABASE',
        retryable: true,
      });
      expect(observations.filter((o) => o.phase === 'after' && o.what === 'admin').at(-1)?.status).toBe(200);

      // The same process throughout: it neither crashed nor was restarted.
      expect(site.process.running()).toBe(true);
      expect(site.process.pid).toBe(pid);

      // Every report was acknowledged, and the site holds each one exactly once.
      expect(acknowledged.size).toBe(sent.size);
      const expected = new Set([...sent.keys()].map((id) => `${id}:0`));
      const stored = await waitUntil(
        async () => {
          const found: string[] = [];
          for (const agent of agents) {
            const page = await site.api<{ items: { message_id: string }[] }>(
              'GET',
              `/status-messages?clientId=${agent.id}&statusId=${statusByName('policy-received').id}&limit=500`,
            );
            found.push(...page.items.map((m) => m.message_id).filter((id) => expected.has(id)));
          }
          return found.length >= expected.size ? found : undefined;
        },
        'the inbox processor to apply every report',
        30_000,
      );
      expect(stored.length).toBe(expected.size);
      expect(new Set(stored).size).toBe(expected.size);
    });
  },
);
