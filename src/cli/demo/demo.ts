import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { AdminClient } from '../admin-client.js';
import { createOutput, table } from '../../protocol/command-line.js';
import { ProgressBar } from '../progress-bar.js';
import { waitForJob } from '../commands/jobs.js';
import type { DeploymentSummary } from '../commands/deployment.js';
import { isFinished } from '../commands/deployment.js';
import { runStewardJson, startSteward, stopChild, waitFor } from './processes.js';
import { writeSamplePackage } from './sample-package.js';

export interface DemoOptions {
  agents: number;
  keep: boolean;
  json: boolean;
  timeoutSeconds: number;
}

interface AgentRow {
  hostname: string;
  clientId: string;
  state: string;
  exitCode: number | null;
  marker: boolean;
}

/**
 * `steward demo`: Steward's main job end to end on the embedded database. A central site in a
 * temporary folder, N agents as separate processes with the root pinned, a sample package, a
 * collection and a mandatory deployment, live progress, and a per-agent result table. Exits 0
 * only when every agent succeeded.
 */
export async function runDemo(options: DemoOptions): Promise<boolean> {
  const out = createOutput(options.json);
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), 'steward-demo-'));
  const children: ChildProcess[] = [];
  const step = (text: string) =>
    out.line(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${text}`);
  try {
    const port = await freePort();
    const siteDir = join(root, 'site');
    step(`creating central site DEM in ${siteDir}`);
    const init = await runStewardJson<{
      rootFingerprint: string;
      url: string;
      enrolmentToken: string;
      credentialsPath: string;
    }>([
      'site',
      'init',
      '--data',
      siteDir,
      '--code',
      'DEM',
      '--name',
      'Steward demo',
      '--listen',
      `127.0.0.1:${port}`,
    ]);
    step(`root key ${init.rootFingerprint}; starting the site server at ${init.url}`);
    const site = startSteward(['site', 'start', '--data', siteDir], join(root, 'site.log'), options.keep);
    children.push(site);
    await waitFor(async () => (await fetch(`${init.url}/health`)).ok, 30_000, 'the site server');
    const admin = new AdminClient({ url: init.url, token: await adminToken(init.credentialsPath) });

    step(`enrolling ${options.agents} agents with the root pinned (secure mode)`);
    const agents = await Promise.all(
      Array.from({ length: options.agents }, async (_, index) => {
        const hostname = `demo-agent-${index + 1}`;
        const dataDir = join(root, hostname);
        const enrolled = await runStewardJson<{ clientId: string; state: string }>([
          'agent',
          'enroll',
          '--data',
          dataDir,
          '--mp',
          init.url,
          '--root-key',
          init.rootFingerprint,
          '--mode',
          'secure',
          '--token',
          init.enrolmentToken,
          '--hostname',
          hostname,
        ]);
        return { hostname, dataDir, clientId: enrolled.clientId };
      }),
    );
    for (const agent of agents) {
      children.push(
        startSteward(
          ['agent', 'run', '--data', agent.dataDir, '--poll-interval', '1'],
          join(root, `${agent.hostname}.log`),
          options.keep,
        ),
      );
    }

    step('importing the sample package (every file hashed, manifest signed by the site key)');
    const source = join(root, 'package-source');
    await writeSamplePackage(source);
    const job = await admin.post<{ id: string }>('/packages', {
      name: 'hello-steward',
      version: '1.0',
      sourcePath: source,
      programs: [{ name: 'install', commandLine: 'sh install.sh', timeLimitSeconds: 60 }],
    });
    const pkg = await waitForJob<{ packageId: string }>(admin, job.id, () => undefined);
    const collection = await admin.post<{ id: string; memberCount: number }>('/collections', {
      name: 'demo agents',
      rule: null,
      clientIds: agents.map((a) => a.clientId),
    });
    const deployment = await admin.post<{ id: string }>('/deployments', {
      packageId: pkg.packageId,
      programName: 'install',
      collectionId: collection.id,
      mandatory: true,
    });
    step(
      `deployment ${deployment.id} created for collection "demo agents" (${collection.memberCount} members)`,
    );

    const bar = new ProgressBar('Deploying', !options.json);
    const deadline = Date.now() + options.timeoutSeconds * 1000;
    let summary: DeploymentSummary;
    for (;;) {
      summary = (await admin.get<{ summary: DeploymentSummary }>(`/deployments/${deployment.id}`)).summary;
      bar.update(
        summary.succeeded + summary.failed + summary.timedOut,
        summary.targeted,
        `${summary.succeeded} succeeded, ${summary.failed + summary.timedOut} failed`,
      );
      if (isFinished(summary) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    bar.finish();

    const states = await admin.get<{ items: { clientId: string; state: string; exitCode: number | null }[] }>(
      `/deployments/${deployment.id}/clients?limit=500`,
    );
    const rows: AgentRow[] = await Promise.all(
      agents.map(async (agent) => {
        const state = states.items.find((s) => s.clientId === agent.clientId);
        return {
          hostname: agent.hostname,
          clientId: agent.clientId,
          state: state?.state ?? 'no report',
          exitCode: state?.exitCode ?? null,
          marker: await exists(join(agent.dataDir, 'hello-steward.txt')),
        };
      }),
    );
    const ok = rows.every((r) => r.state === 'succeeded' && r.marker);
    const elapsed = (Date.now() - started) / 1000;
    out.result(
      {
        ok,
        elapsedSeconds: elapsed,
        site: init.url,
        deployment: deployment.id,
        summary,
        agents: rows,
        folder: root,
      },
      () => {
        out.line(
          table([
            ['AGENT', 'CLIENT', 'STATE', 'EXIT', 'MARKER FILE'],
            ...rows.map((r) => [
              r.hostname,
              r.clientId.slice(0, 16),
              r.state,
              r.exitCode === null ? '-' : String(r.exitCode),
              r.marker ? 'yes' : 'no',
            ]),
          ]),
        );
        out.line(
          ok
            ? `Every agent succeeded in ${elapsed.toFixed(1)} s.`
            : `Not every agent succeeded (see the logs in ${root}).`,
        );
        if (options.keep) {
          out.line(
            `The site keeps running at ${init.url} (admin API ${init.url}/api/v1, credentials ${init.credentialsPath}).`,
          );
          out.line(
            `Process ids: ${children.map((c) => c.pid ?? '?').join(' ')}; stop them with kill, then remove ${root}.`,
          );
        }
      },
    );
    return ok;
  } finally {
    if (!options.keep) {
      await Promise.all(children.map((child) => stopChild(child)));
      await rm(root, { recursive: true, force: true });
    } else {
      for (const child of children) child.unref();
    }
  }
}

async function adminToken(path: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return (JSON.parse(await readFile(path, 'utf8')) as { token: string }).token;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address !== null && typeof address === 'object'
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
