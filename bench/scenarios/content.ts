import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { get } from 'node:http';
import { basename, join } from 'node:path';
import { ContentCache } from '../../src/agent/content/content-cache.js';
import { downloadContent } from '../../src/agent/content/content-download.js';
import { applyTrustBundle, type TrustView } from '../../src/agent/trust/agent-trust.js';
import { ManagementPointClient } from '../../src/agent/transport/management-point-client.js';
import { distributionPointPaths } from '../../src/protocol/index.js';
import {
  acceptAssignments,
  acceptPolicyBody,
  createSha256,
  type PolicyBodyPayload,
} from '../../src/trust/index.js';
import { downloadAndVerify } from '../agent-sim/content.js';
import { SimCounters } from '../agent-sim/counters.js';
import { FaultInjector, noFaults } from '../agent-sim/faults.js';
import { Fleet } from '../agent-sim/fleet.js';
import { measureCryptoCost } from '../baselines/crypto-cost.js';
import { loadTest, wrkInstalled } from '../baselines/load.js';
import { nginxInstalled, startNginx, type RunningNginx } from '../baselines/nginx.js';
import { opensslSha256MBps } from '../baselines/openssl.js';
import { startScript, waitListening, type StartedChild } from '../harness/children.js';
import type { RunContext } from '../harness/context.js';
import { freePort } from '../harness/ports.js';
import { SeededRandom } from '../harness/rng.js';
import { median } from '../harness/stats.js';
import { profileInProcess } from '../profile/in-process.js';
import { monotonicUs, summariseProfile } from '../profile/summarise-profile.js';
import { createBenchSite, startBenchSite, type RunningBenchSite } from '../site/bench-site.js';
import { createDirectCollection, createMandatoryDeployment, importPackage } from '../site/site-setup.js';
import type { Scenario } from './scenario.js';

const name = 'content';
const MB = 1e6;

/**
 * Content: the distribution point serving one large package file to 8 concurrent downloads, against
 * nginx and a plain createReadStream server serving the same file; and one agent downloading and
 * verifying it (C5) with the agent's own code, against `openssl dgst -sha256` on the same cached
 * file. Rounds are interleaved.
 */
export const content: Scenario = {
  name,
  summary: 'distribution point MB/s (8 downloads) and agent download-and-verify MB/s',
  async run(context: RunContext) {
    const size = (context.quick ? 16 : 256) * 1024 * 1024;
    const sizeText = `${size / 1024 / 1024} MiB`;
    const dir = await context.workFolder(name);
    const folder = await createBenchSite(context, dir);
    const site = await startBenchSite(context, folder, name, name);
    const children: StartedChild[] = [];
    let nginx: RunningNginx | undefined;
    try {
      const fleet = new Fleet(
        { url: site.url, siteCode: folder.init.siteCode, rootPin: folder.init.rootFingerprint },
        { seed: context.seed, count: 1 },
      );
      await fleet.enrolAll();
      const pkg = await importPackage(site, join(dir, 'package'), {
        name: 'content-package',
        seed: context.seed,
        files: [{ path: 'payload.bin', bytes: size }],
      });
      const filesDir = join(folder.dataDir, 'content', pkg.packageId, pkg.version, 'files');
      const stored = join(filesDir, 'payload.bin');
      await readWhole(stored);
      const dpUrl = `${site.url}${distributionPointPaths.file(pkg.packageId, pkg.version, 'payload.bin')}`;

      const streamPort = await freePort();
      const streamServer = startScript(
        join(import.meta.dirname, '../baselines/read-stream-server.ts'),
        [String(streamPort), stored],
        join(dir, 'read-stream-server.log'),
      );
      children.push(streamServer);
      await waitListening(streamServer);
      const targets = [
        { label: 'distribution point', url: dpUrl },
        { label: 'createReadStream', url: `http://127.0.0.1:${streamPort}/payload.bin` },
      ];
      if (await nginxInstalled()) {
        nginx = await startNginx(join(dir, 'nginx'), filesDir);
        targets.push({ label: 'nginx', url: `${nginx.url}/payload.bin` });
      } else {
        context.note(name, 'nginx: not installed; the createReadStream server is the baseline');
      }
      if (!(await wrkInstalled()))
        context.note(name, 'wrk: not installed; the node:http load generator was used');

      const seconds = context.quick ? 1 : 10;
      const rounds = context.quick ? 1 : 3;
      const serve = new Map<string, number[]>(targets.map((t) => [t.label, []]));
      let windowStart = 0;
      for (let round = 0; round < rounds; round += 1) {
        for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
          if (target.label === 'distribution point') windowStart = monotonicUs();
          const result = await loadTest({ url: target.url, connections: 8, seconds });
          if (target.label === 'distribution point')
            site.profileWindow(`8 downloads, round ${round + 1}`, windowStart, monotonicUs());
          if (result.badStatus + result.errors > 0)
            context.note(name, `${target.label}: ${result.badStatus} bad statuses, ${result.errors} errors`);
          serve.get(target.label)?.push(result.bytesPerSecond / MB);
          context.log(
            `    round ${round + 1} ${target.label}: ${(result.bytesPerSecond / MB).toFixed(0)} MB/s`,
          );
        }
      }
      const dp = median(serve.get('distribution point') ?? []);
      const stream = median(serve.get('createReadStream') ?? []);
      const ng = nginx === undefined ? null : median(serve.get('nginx') ?? []);
      context.figure({
        scenario: name,
        name: `distribution point, ${sizeText} file, 8 concurrent downloads`,
        value: dp,
        unit: 'MB/s',
        baseline:
          ng === null
            ? { name: 'createReadStream server', value: stream, unit: 'MB/s' }
            : { name: 'nginx (sendfile), same file', value: ng, unit: 'MB/s' },
        budget: { text: `≥ 0.7 × ${ng === null ? 'createReadStream' : 'nginx'}`, ratioAtLeast: 0.7 },
      });
      if (ng !== null) {
        context.figure({
          scenario: name,
          name: 'distribution point, 8 concurrent downloads, vs a plain createReadStream server',
          value: dp,
          unit: 'MB/s',
          baseline: { name: 'createReadStream server (64 KiB chunks)', value: stream, unit: 'MB/s' },
        });
      }

      const { body, view } = await policyBodyFor(
        site,
        folder.init.siteCode,
        folder.init.rootFingerprint,
        fleet.agents[0]!.clientId,
        pkg.packageId,
      );
      const singleWrk: number[] = [];
      const nodeHttpMBps: number[] = [];
      const agentMBps: number[] = [];
      const simulatorMBps: number[] = [];
      const opensslMBps: number[] = [];
      const nodeHashMBps: number[] = [];
      const cacheDir = join(dir, 'agent-cache');
      const verifyWithoutWriting = async () => {
        const counters = new SimCounters();
        await downloadAndVerify(body, {
          siteKeys: view.siteKeys,
          now: new Date(),
          faults: new FaultInjector(noFaults, SeededRandom.derive(context.seed, 'content'), counters.faults),
          counters,
        });
      };
      // Warm-up: the first fetch of a process runs far slower (undici and web streams compile).
      await verifyWithoutWriting();
      for (let round = 0; round < rounds; round += 1) {
        const openssl = await opensslSha256MBps(stored, size);
        if (openssl !== null) opensslMBps.push(openssl);
        await rm(cacheDir, { recursive: true, force: true });
        let started = performance.now();
        await downloadContent(
          body,
          {
            siteKeys: view.siteKeys,
            cache: new ContentCache(cacheDir, 4 * size),
            inUse: new Set(),
            now: new Date(),
          },
          { onStart: () => Promise.resolve() },
        );
        agentMBps.push(size / MB / ((performance.now() - started) / 1000));
        started = performance.now();
        await verifyWithoutWriting();
        simulatorMBps.push(size / MB / ((performance.now() - started) / 1000));
        started = performance.now();
        await hashFile(stored);
        nodeHashMBps.push(size / MB / ((performance.now() - started) / 1000));
        // Where the agent's time goes: one download by wrk, and by node:http with SHA-256.
        singleWrk.push(
          (await loadTest({ url: dpUrl, connections: 1, seconds: context.quick ? 1 : 5 })).bytesPerSecond /
            MB,
        );
        started = performance.now();
        await downloadWithNodeHttp(dpUrl);
        nodeHttpMBps.push(size / MB / ((performance.now() - started) / 1000));
        context.log(
          `    round ${round + 1}: agent ${agentMBps.at(-1)?.toFixed(0)} MB/s, without writing ${simulatorMBps.at(-1)?.toFixed(0)} MB/s, openssl ${openssl?.toFixed(0) ?? '—'} MB/s`,
        );
      }
      await rm(cacheDir, { recursive: true, force: true });
      if (context.profile) {
        // Where the agent's own time goes: one more download, under this process's profiler.
        const file = context.artifact('content-agent.cpuprofile');
        await profileInProcess(file, () =>
          downloadContent(
            body,
            {
              siteKeys: view.siteKeys,
              cache: new ContentCache(cacheDir, 4 * size),
              inUse: new Set(),
              now: new Date(),
            },
            { onStart: () => Promise.resolve() },
          ),
        );
        await rm(cacheDir, { recursive: true, force: true });
        context.note(
          name,
          `CPU profile of the agent's downloadContent (bench process; ${basename(file)}):\n\n${await summariseProfile(file, 15)}`,
        );
      }
      const openssl = opensslMBps.length === 0 ? null : median(opensslMBps);
      const opensslBaseline = {
        name: 'openssl dgst -sha256, same cached file',
        value: openssl,
        unit: 'MB/s',
        ...(openssl === null ? { note: 'openssl not installed' } : {}),
      };
      context.figure({
        scenario: name,
        name: `agent download-and-verify, ${sizeText} (the agent's downloadContent: stream, hash, write to its cache)`,
        value: median(agentMBps),
        unit: 'MB/s',
        baseline: opensslBaseline,
        budget: { text: '≥ 0.7 × openssl dgst', ratioAtLeast: 0.7 },
      });
      context.figure({
        scenario: name,
        name: 'download-and-verify without writing to disk (the simulator)',
        value: median(simulatorMBps),
        unit: 'MB/s',
        baseline: opensslBaseline,
      });
      context.figure({
        scenario: name,
        name: 'hash of the cached file in Node (createReadStream, 1 MiB chunks, SHA-256)',
        value: median(nodeHashMBps),
        unit: 'MB/s',
        baseline: opensslBaseline,
      });
      context.figure({
        scenario: name,
        name: 'one download from the distribution point by node:http with SHA-256 (no fetch, no writing)',
        value: median(nodeHttpMBps),
        unit: 'MB/s',
        baseline: opensslBaseline,
      });
      context.figure({
        scenario: name,
        name: 'one download from the distribution point by wrk (1 connection, no hashing)',
        value: median(singleWrk),
        unit: 'MB/s',
        baseline: opensslBaseline,
      });
      const memory = measureCryptoCost(500, context.seed);
      context.note(
        name,
        `SHA-256 over a buffer in memory in Node: ${memory.sha256MBps.toFixed(0)} MB/s (this run). MB = 10^6 bytes.`,
      );
    } finally {
      await nginx?.stop();
      for (const child of children) await child.stop();
      await site.stop();
    }
  },
};

async function trustBundle(site: RunningBenchSite) {
  const offered = await new ManagementPointClient(site.url).trust(null);
  if (offered === 'unchanged') throw new Error('no trust bundle');
  return offered.bundle;
}

/** The verified policy body (C3, C4) of a mandatory deployment of the package to one client. */
async function policyBodyFor(
  site: RunningBenchSite,
  siteCode: string,
  rootPin: string,
  clientId: string,
  packageId: string,
): Promise<{ body: PolicyBodyPayload; view: TrustView }> {
  const collection = await createDirectCollection(site, 'content agent', [clientId]);
  await createMandatoryDeployment(site, packageId, collection);
  const now = new Date();
  const bundle = await trustBundle(site);
  const view = applyTrustBundle(
    { chain: bundle.rootChain, pin: rootPin, source: 'pinned', bundleEtag: null },
    bundle,
    siteCode,
    now,
  ).view;
  const mp = new ManagementPointClient(site.url);
  const answer = await mp.policy(clientId, null);
  if (answer === 'unchanged') throw new Error('no assignment list');
  const assignments = acceptAssignments(answer.envelope, {
    mpKey: view.mpKey,
    clientId,
    siteCode,
    lastSequence: null,
    now,
  });
  const assignment = assignments.payload.assignments[0];
  if (assignment === undefined) throw new Error('the deployment is not in the assignment list');
  const encoded = await mp.policyBody(assignment.policyId, assignment.version);
  const body = acceptPolicyBody(encoded, {
    siteKeys: view.siteKeys,
    expectedHash: assignment.hash,
    now,
  }).payload;
  return { body, view };
}

async function readWhole(file: string): Promise<void> {
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    if (!(chunk instanceof Buffer)) throw new TypeError('expected bytes');
  }
}

/** GET with node:http (not fetch), hashing every chunk: the transport without web streams. */
function downloadWithNodeHttp(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createSha256();
    get(url, (response) => {
      response.on('data', (chunk: Buffer) => hash.update(chunk));
      response.on('end', () => resolve(hash.digestHex()));
      response.on('error', reject);
    }).on('error', reject);
  });
}

async function hashFile(file: string): Promise<string> {
  const hash = createSha256();
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer);
  return hash.digestHex();
}
