import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { cryptoDelta } from '../agent-sim/counters.js';
import { describeFaultPlan, noFaults, parseFaultPlan, type FaultPlan } from '../agent-sim/faults.js';
import { Fleet } from '../agent-sim/fleet.js';
import { measureCryptoCost, type CryptoCost } from '../baselines/crypto-cost.js';
import { cumulative, fanOutSvg } from '../chart/fan-out-svg.js';
import type { RunContext } from '../harness/context.js';
import { MiB, RssSampler } from '../harness/proc-stats.js';
import { sleep } from '../harness/timing.js';
import { monotonicUs } from '../profile/summarise-profile.js';
import { createBenchSite, startBenchSite, waitForQuietSite } from '../site/bench-site.js';
import {
  createDirectCollection,
  createMandatoryDeployment,
  deploymentSummary,
  importPackage,
} from '../site/site-setup.js';
import type { Scenario } from './scenario.js';

const name = 'fan-out';

interface FanOutRun {
  readonly agents: number;
  readonly faults: FaultPlan;
  readonly pollIntervalMs: number;
  readonly label: string;
  readonly budgetSeconds?: number;
}

/**
 * A mandatory deployment of a 64 KiB package to N simulated agents that poll over the real
 * protocol: the time from creating the deployment until every agent's "succeeded" status is
 * committed at the site (the deployment summary counts it), with the site's CPU and memory. The
 * baseline is the crypto floor: the signatures and verifications the run needed, at the cost of
 * one measured in this run, divided by the cores.
 */
export const fanOut: Scenario = {
  name,
  summary: 'seconds until a deployment to 1,000 and 10,000 agents has succeeded everywhere',
  async run(context: RunContext) {
    const pollIntervalMs = context.quick ? 2000 : 10_000;
    const runs: FanOutRun[] = context.quick
      ? [
          {
            agents: 100,
            faults: parseFaultPlan('drop=0.02,delay=0.05:50-300,corrupt=0.02'),
            pollIntervalMs,
            label: '100-faults',
          },
        ]
      : [
          { agents: 1000, faults: noFaults, pollIntervalMs, label: '1000' },
          { agents: 10_000, faults: noFaults, pollIntervalMs, label: '10000', budgetSeconds: 30 },
          {
            agents: 1000,
            faults: parseFaultPlan('drop=0.02,delay=0.05:50-500,corrupt=0.01'),
            pollIntervalMs,
            label: '1000-faults',
          },
        ];
    const chosen =
      context.fanOutAgents === undefined
        ? runs
        : context.fanOutAgents.map((agents) => ({
            agents,
            faults: noFaults,
            pollIntervalMs,
            label: String(agents),
            ...(agents === 10_000 ? { budgetSeconds: 30 } : {}),
          }));
    for (const run of chosen) {
      const before = measureCryptoCost(context.quick ? 300 : 1000, context.seed);
      await fanOutOnce(context, run, before);
    }
  },
};

async function fanOutOnce(context: RunContext, run: FanOutRun, costBefore: CryptoCost): Promise<void> {
  const dir = await context.workFolder(`fan-out-${run.label}`);
  const folder = await createBenchSite(context, dir);
  const site = await startBenchSite(context, folder, name, `fan-out-${run.label}`);
  const fleet = new Fleet(
    { url: site.url, siteCode: folder.init.siteCode, rootPin: folder.init.rootFingerprint },
    { seed: context.seed, count: run.agents, faults: run.faults, maxInFlight: 256 },
  );
  try {
    const enrolStarted = performance.now();
    await fleet.enrolAll((done) => {
      if (done % 1000 === 0) context.log(`    ${done} of ${run.agents} agents registered`);
    });
    const enrolSeconds = (performance.now() - enrolStarted) / 1000;
    await fleet.cycleAll();
    const settle = await waitForQuietSite(site);
    context.log(
      `    ${run.agents} agents registered in ${enrolSeconds.toFixed(1)} s; discovery processed after ${settle.toFixed(0)} s`,
    );

    const pkg = await importPackage(site, join(dir, 'package'), {
      name: 'fan-out-package',
      seed: context.seed,
      files: [{ path: 'payload.bin', bytes: 64 * 1024 }],
    });
    const collection = await createDirectCollection(
      site,
      'fan-out agents',
      fleet.agents.map((a) => a.clientId),
    );
    fleet.start(run.pollIntervalMs, run.pollIntervalMs);
    await sleep(run.pollIntervalMs * 1.2);
    await waitForQuietSite(site, 0.6, 30_000);

    const cryptoBefore = fleet.counters.cryptoSnapshot();
    const cpuBefore = site.cpuSeconds();
    const simCpuBefore = process.cpuUsage();
    const rss = new RssSampler(site.pid, 200);
    const origin = performance.now();
    const windowStart = monotonicUs();
    const deploymentId = await createMandatoryDeployment(site, pkg.packageId, collection);
    const createdSeconds = (performance.now() - origin) / 1000;
    const samples: [number, number][] = [[0, 0]];
    const timeoutSeconds = context.quick ? 120 : Math.max(300, run.agents / 20);
    let doneSeconds: number | null = null;
    let last = { succeeded: 0, failed: 0, targeted: 0 };
    while (doneSeconds === null) {
      const summary = await deploymentSummary(site, deploymentId);
      const t = (performance.now() - origin) / 1000;
      samples.push([t, summary.succeeded]);
      last = summary;
      if (summary.succeeded >= run.agents) doneSeconds = t;
      else if (t > timeoutSeconds) break;
      else await sleep(200);
    }
    site.profileWindow(`the fan-out to ${run.agents} agents`, windowStart, monotonicUs());
    const cpuSeconds = site.cpuSeconds() - cpuBefore;
    const simCpu = process.cpuUsage(simCpuBefore);
    const memory = rss.stop();
    const peak = site.memory().peakRssBytes;
    const ops = cryptoDelta(fleet.counters.cryptoSnapshot(), cryptoBefore);
    await fleet.stop();

    const costAfter = measureCryptoCost(context.quick ? 300 : 1000, context.seed);
    const signUs = (costBefore.signUs + costAfter.signUs) / 2;
    const verifyUs = (costBefore.verifyUs + costAfter.verifyUs) / 2;
    const cores = cpus().length;
    // One more signature: the policy body, signed when the deployment was created.
    const signs = ops.siteSigns + ops.agentSigns + 1;
    const verifies = ops.siteVerifies + ops.agentVerifiesNeeded;
    const floorSeconds = (signs * signUs + verifies * verifyUs) / 1e6 / cores;

    const faulty = run.faults !== noFaults;
    const what = `${run.agents.toLocaleString('en-US')} agents, 64 KiB package${faulty ? ', injected faults' : ''}`;
    context.figure({
      scenario: name,
      name: `${what}: seconds until every "succeeded" is committed`,
      value: doneSeconds,
      unit: 's',
      baseline: {
        name: 'crypto floor (signatures + verifications × cost / cores)',
        value: floorSeconds,
        unit: 's',
      },
      ...(run.budgetSeconds === undefined
        ? {}
        : { budget: { text: `≤ ${run.budgetSeconds} s (embedded database)`, atMost: run.budgetSeconds } }),
      ...(doneSeconds === null
        ? {
            note: `not finished after ${timeoutSeconds} s: ${last.succeeded} succeeded, ${last.failed} failed of ${last.targeted}`,
          }
        : {}),
    });
    context.figure({
      scenario: name,
      name: `${what}: site CPU during the fan-out`,
      value: cpuSeconds,
      unit: 'CPU s',
    });
    context.figure({
      scenario: name,
      name: `${what}: site peak RSS during the fan-out`,
      value: memory.maxBytes / MiB,
      unit: 'MiB',
    });
    context.note(
      name,
      `${what}: poll interval ${run.pollIntervalMs / 1000} s ±20% (every agent has polled ${((run.pollIntervalMs * 1.2) / 1000).toFixed(0)} s after creation at the latest); ` +
        `faults ${describeFaultPlan(run.faults)}; creating the deployment took ${createdSeconds.toFixed(2)} s; ` +
        `registration of ${run.agents} agents over the protocol took ${enrolSeconds.toFixed(1)} s (${(run.agents / enrolSeconds).toFixed(0)}/s; the MP admits 100 registrations/s by design, S1); ` +
        `site peak RSS over its whole life ${(peak / MiB).toFixed(0)} MiB; simulator CPU ${((simCpu.user + simCpu.system) / 1e6).toFixed(1)} s on the same two cores.`,
    );
    context.note(
      name,
      `${what}: crypto floor from ${signs} signatures × ${signUs.toFixed(1)} µs + ${verifies} verifications × ${verifyUs.toFixed(1)} µs ÷ ${cores} cores ` +
        `(site: ${ops.siteSigns + 1} signatures, ${ops.siteVerifies} report verifications; agents: ${ops.agentSigns} signatures, ${ops.agentVerifiesNeeded} verifications). ` +
        `Not counted: ${ops.agentVerifiesRepeat} re-verifications of unchanged assignment lists at polls, which the real agent also does. ` +
        `Injected: ${fleet.counters.faults.dropped} dropped, ${fleet.counters.faults.delayed} delayed, ${fleet.counters.faults.corrupted} corrupted; agent errors: ${fleet.counters.errorSummary()}.`,
    );
    const markers = [
      { seconds: floorSeconds, label: `crypto floor ${floorSeconds.toFixed(1)} s`, color: '#2a8a2a' },
      { seconds: (run.pollIntervalMs * 1.2) / 1000, label: 'every agent has polled', color: '#b07a00' },
    ];
    if (run.budgetSeconds !== undefined)
      markers.push({ seconds: run.budgetSeconds, label: `budget ${run.budgetSeconds} s`, color: '#c0392b' });
    const chart = {
      title: `Fan-out to ${run.agents.toLocaleString('en-US')} simulated agents${faulty ? ' with injected faults' : ''} (64 KiB package, PGlite)`,
      agents: run.agents,
      committed: samples,
      acknowledged: cumulative(fleet.counters.succeededAckTimes, origin),
      markers,
    };
    await writeFile(context.artifact(`fan-out-${run.label}.svg`), fanOutSvg(chart));
    await writeFile(
      context.artifact(`fan-out-${run.label}.json`),
      `${JSON.stringify({ ...chart, floorSeconds, doneSeconds })}\n`,
    );
  } finally {
    await fleet.stop();
    await site.stop();
  }
}
