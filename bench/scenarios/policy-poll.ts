import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { managementPointPaths } from '../../src/protocol/index.js';
import { Fleet } from '../agent-sim/fleet.js';
import { startScript, waitListening, type StartedChild } from '../harness/children.js';
import type { RunContext } from '../harness/context.js';
import { freePort } from '../harness/ports.js';
import { cpuSecondsOfTree } from '../harness/proc-stats.js';
import { median } from '../harness/stats.js';
import { monotonicUs } from '../profile/summarise-profile.js';
import { loadTest, wrkInstalled, type LoadResult } from '../baselines/load.js';
import { nginxInstalled, startNginx, type RunningNginx } from '../baselines/nginx.js';
import { createBenchSite, startBenchSite } from '../site/bench-site.js';
import { createDirectCollection, createMandatoryDeployment, importPackage } from '../site/site-setup.js';
import type { Scenario } from './scenario.js';

const name = 'policy-poll';

interface Target {
  readonly label: string;
  readonly url: string;
  readonly etag: string;
  readonly pid: number;
}

/**
 * Unchanged-policy polls: one enrolled client with one deployment in force polls its assignment
 * list with its ETag (304, answered from the management point's memory) and without (200, the
 * signed list from memory), under wrk with a fixed number of connections. The baselines answer
 * the same bytes: a minimal node:http server from memory, and nginx from a file. The three are
 * measured in interleaved rounds.
 */
export const policyPoll: Scenario = {
  name,
  summary: 'unchanged-policy polls per second and latency vs node:http and nginx',
  async run(context: RunContext) {
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
      await fleet.cycleAll();
      const clientId = fleet.agents[0]!.clientId;
      const pkg = await importPackage(site, join(dir, 'package'), {
        name: 'poll-package',
        seed: context.seed,
        files: [{ path: 'install.sh', bytes: 1024 }],
      });
      const collection = await createDirectCollection(site, 'poll collection', [clientId]);
      await createMandatoryDeployment(site, pkg.packageId, collection);
      await fleet.cycleAll();

      const policyUrl = `${site.url}${managementPointPaths.policy(clientId)}`;
      const answer = await fetch(policyUrl);
      const body = Buffer.from(await answer.arrayBuffer());
      const etag = answer.headers.get('etag') ?? '';
      const bodyFile = join(dir, 'www', 'policy.json');
      await mkdir(join(dir, 'www'), { recursive: true });
      await writeFile(bodyFile, body);
      context.note(
        name,
        `assignment list of ${body.byteLength} bytes (one deployment in force), ETag ${etag}`,
      );

      const targets: Target[] = [{ label: 'steward MP', url: policyUrl, etag, pid: site.pid }];
      const nodePort = await freePort();
      const nodeServer = startScript(
        join(import.meta.dirname, '../baselines/static-http-server.ts'),
        [String(nodePort), bodyFile, etag],
        join(dir, 'node-baseline.log'),
      );
      children.push(nodeServer);
      await waitListening(nodeServer);
      targets.push({
        label: 'node:http',
        url: `http://127.0.0.1:${nodePort}/policy`,
        etag,
        pid: nodeServer.pid,
      });
      if (await nginxInstalled()) {
        nginx = await startNginx(join(dir, 'nginx'), join(dir, 'www'), { defaultType: 'application/json' });
        const head = await fetch(`${nginx.url}/policy.json`, { method: 'HEAD' });
        targets.push({
          label: 'nginx',
          url: `${nginx.url}/policy.json`,
          etag: head.headers.get('etag') ?? '',
          pid: nginx.pid,
        });
      } else {
        context.note(name, 'nginx: not installed (apt-get install nginx); no nginx baseline');
      }
      if (!(await wrkInstalled()))
        context.note(name, 'wrk: not installed; the node:http load generator was used instead');

      const connections = 64;
      const seconds = context.quick ? 1 : 8;
      const rounds = context.quick ? 1 : 3;
      const results = new Map<
        string,
        { notModified: LoadResult[]; full: LoadResult[]; cpuUsPerRequest: number[] }
      >();
      for (const target of targets)
        results.set(target.label, { notModified: [], full: [], cpuUsPerRequest: [] });
      // Warm-up: JIT and connection pools of every target.
      for (const target of targets) {
        await loadTest({
          url: target.url,
          connections,
          seconds: 1,
          headers: { 'if-none-match': target.etag },
        });
      }
      for (let round = 0; round < rounds; round += 1) {
        const order = round % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order) {
          const entry = results.get(target.label)!;
          const cpuBefore = cpuSecondsOfTree(target.pid);
          const windowStart = monotonicUs();
          const notModified = await loadTest({
            url: target.url,
            connections,
            seconds,
            headers: { 'if-none-match': target.etag },
          });
          if (target.pid === site.pid)
            site.profileWindow(`304 polls, round ${round + 1}`, windowStart, monotonicUs());
          entry.cpuUsPerRequest.push(
            ((cpuSecondsOfTree(target.pid) - cpuBefore) * 1e6) / notModified.requests,
          );
          entry.notModified.push(notModified);
          entry.full.push(await loadTest({ url: target.url, connections, seconds }));
          context.log(
            `    round ${round + 1} ${target.label}: ${Math.round(notModified.requestsPerSecond)}/s (304), ${Math.round(entry.full.at(-1)!.requestsPerSecond)}/s (200)`,
          );
        }
      }
      const get = (label: string) => results.get(label);
      const stats = (label: string) => {
        const entry = get(label);
        if (entry === undefined) return undefined;
        const check = [...entry.notModified, ...entry.full];
        const bad = check.reduce((sum, r) => sum + r.badStatus + r.errors, 0);
        return {
          rps304: median(entry.notModified.map((r) => r.requestsPerSecond)),
          rps200: median(entry.full.map((r) => r.requestsPerSecond)),
          p50: median(entry.notModified.map((r) => r.p50Ms)),
          p99: median(entry.notModified.map((r) => r.p99Ms)),
          p99full: median(entry.full.map((r) => r.p99Ms)),
          cpuUs: median(entry.cpuUsPerRequest),
          bad,
          tool: entry.notModified[0]?.tool ?? '',
        };
      };
      const steward = stats('steward MP')!;
      const node = stats('node:http')!;
      const ng = stats('nginx');
      const nginxBaseline = (value: number | undefined, unit: string) => ({
        name: 'nginx, same bytes from a file',
        value: value ?? null,
        unit,
        ...(ng === undefined ? { note: 'nginx not installed' } : {}),
      });
      const conns = `${connections} connections, ${steward.tool}, median of ${rounds}`;
      context.figure({
        scenario: name,
        name: `unchanged-policy polls, 304 with ETag (${conns})`,
        value: steward.rps304,
        unit: 'req/s',
        baseline: { name: 'node:http, same bytes from memory', value: node.rps304, unit: 'req/s' },
        budget: { text: '≥ 0.8 × node:http', ratioAtLeast: 0.8 },
      });
      context.figure({
        scenario: name,
        name: 'unchanged-policy polls, 304 with ETag, vs nginx',
        value: steward.rps304,
        unit: 'req/s',
        baseline: nginxBaseline(ng?.rps304, 'req/s'),
      });
      context.figure({
        scenario: name,
        name: 'poll latency p50 (304)',
        value: steward.p50,
        unit: 'ms',
        baseline: { name: 'node:http', value: node.p50, unit: 'ms' },
      });
      context.figure({
        scenario: name,
        name: 'poll latency p99 (304)',
        value: steward.p99,
        unit: 'ms',
        baseline: { name: 'node:http', value: node.p99, unit: 'ms' },
      });
      context.figure({
        scenario: name,
        name: 'server CPU per unchanged poll',
        value: steward.cpuUs,
        unit: 'µs',
        baseline: { name: 'node:http', value: node.cpuUs, unit: 'µs' },
      });
      context.figure({
        scenario: name,
        name: `policy polls without ETag, 200 with the signed list (${connections} connections)`,
        value: steward.rps200,
        unit: 'req/s',
        baseline: { name: 'node:http, same bytes from memory', value: node.rps200, unit: 'req/s' },
      });
      context.figure({
        scenario: name,
        name: 'policy polls without ETag (200), vs nginx',
        value: steward.rps200,
        unit: 'req/s',
        baseline: nginxBaseline(ng?.rps200, 'req/s'),
      });
      if (steward.bad + node.bad + (ng?.bad ?? 0) > 0) {
        context.note(
          name,
          `errors or unexpected statuses: steward ${steward.bad}, node ${node.bad}, nginx ${ng?.bad ?? 0}`,
        );
      }
      if (ng !== undefined) {
        context.note(
          name,
          `nginx (1 worker): p50/p99 (304) ${ng.p50.toFixed(2)} / ${ng.p99.toFixed(2)} ms, CPU per request ${ng.cpuUs.toFixed(1)} µs`,
        );
      }
    } finally {
      await nginx?.stop();
      for (const child of children) await child.stop();
      await site.stop();
    }
  },
};
