import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ManagementPointClient } from '../../src/agent/transport/management-point-client.js';
import { databaseLocation } from '../../src/site/database/open.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { cryptoDelta, type CryptoSnapshot } from '../agent-sim/counters.js';
import { Fleet } from '../agent-sim/fleet.js';
import { agentIdentity } from '../agent-sim/identity.js';
import { measureCryptoCost } from '../baselines/crypto-cost.js';
import { runToEnd } from '../harness/children.js';
import type { RunContext } from '../harness/context.js';
import { cpuSecondsOf } from '../harness/proc-stats.js';
import { mean } from '../harness/stats.js';
import { sleep } from '../harness/timing.js';
import { monotonicUs } from '../profile/summarise-profile.js';
import { waitForQuietSite } from '../site/bench-site.js';
import { startScaleOutLayout, waitForContentPresent, type ScaleOutLayout } from '../site/scale-out-layout.js';
import { clientRowOf, seedClients } from '../site/seed-clients.js';
import {
  createDirectCollection,
  createMandatoryDeployment,
  deploymentSummary,
  importPackage,
} from '../site/site-setup.js';
import { rawRows, signLifecycleReports } from './ingest.js';
import type { Scenario } from './scenario.js';

const name = 'scale-out';

/**
 * Ingest and fan-out through two management points on their own hosts (docs/scale-out.md): a
 * private PostgreSQL primary and streaming replica, a site server with its embedded roles off, two
 * `steward mp start` processes reading the replica and one `steward dp start`. Not in the default
 * set (it needs the Debian PostgreSQL binaries and several minutes): `npm run bench -- scale-out`.
 */
export const scaleOut: Scenario = {
  name,
  summary: 'ingest and fan-out through two standalone MPs on PostgreSQL with a streaming replica',
  async run(context: RunContext) {
    const dir = await context.workFolder('scale-out');
    const layout = await startScaleOutLayout(context, dir, 'scale-out');
    try {
      context.note(
        name,
        `layout: PostgreSQL primary and pg_basebackup standby, site server (embedded roles off), MPs ${layout.mps.map((m) => m.name).join(' and ')} reading the standby, DP ${layout.dp.name}; all on this machine's ${cpus().length} cores.`,
      );
      await ingestThroughMps(context, layout, dir);
      await fanOutThroughMps(context, layout, dir);
    } finally {
      await layout.stop();
    }
  },
};

async function ingestThroughMps(context: RunContext, layout: ScaleOutLayout, dir: string): Promise<void> {
  const clientsCount = context.quick ? 100 : 4000;
  const site = layout.site;
  const siteCode = site.folder.init.siteCode;
  const identities = Array.from({ length: clientsCount }, (_, i) => agentIdentity(context.seed, 200_000 + i));
  await seedClients(
    databaseLocation(layout.databaseUrl, siteDataLayout(site.folder.dataDir).database),
    siteCode,
    identities.map((identity) => ({ client: clientRowOf(identity), facts: {} })),
  );
  const pkg = await importPackage(site, join(dir, 'ingest-package'), {
    name: 'ingest-package',
    seed: context.seed,
    files: [{ path: 'install.sh', bytes: 1024 }],
  });
  const collection = await createDirectCollection(
    site,
    'ingest clients',
    identities.map((i) => i.clientId),
  );
  const deploymentId = await createMandatoryDeployment(site, pkg.packageId, collection);
  const batches = signLifecycleReports(identities, siteCode, deploymentId);
  const rowsFile = join(dir, 'rows.jsonl');
  await writeFile(
    rowsFile,
    rawRows(identities, siteCode, deploymentId)
      .map((row) => JSON.stringify(row))
      .join('\n'),
  );
  const rawRun = async (prefix: string): Promise<number> => {
    const script = join(import.meta.dirname, '../baselines/raw-insert.ts');
    const options = { kind: 'postgres', target: layout.databaseUrl, rowsFile, prefix };
    const result = await runToEnd(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], {
      timeoutMs: 600_000,
    });
    if (result.code !== 0) throw new Error(`raw insert failed: ${result.stderr}`);
    const parsed = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as {
      rows: number;
      seconds: number;
    };
    return parsed.rows / parsed.seconds;
  };
  await waitForQuietSite(site);
  const rawBefore = await rawRun('raw1');

  // Two senders per MP, 100 reports per request; each MP verifies a batch and commits it to the
  // inbox on the primary before it answers; the site server's inbox processor applies it.
  const queues = layout.mps.map(() => [] as { encoded: string }[][]);
  batches.forEach((batch, i) => queues[i % queues.length]?.push(batch));
  const messages = batches.reduce((sum, batch) => sum + batch.length, 0);
  const windowStart = monotonicUs();
  const started = performance.now();
  let refused = 0;
  await Promise.all(
    layout.mps.flatMap((mp, index) => {
      const client = new ManagementPointClient(mp.url);
      const queue = queues[index] ?? [];
      return [0, 1].map(async () => {
        for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
          const answer = await client.sendReports(batch.map((r) => r.encoded));
          refused += answer.results.filter((r) => r.status === 'rejected').length;
        }
      });
    }),
  );
  const ackedSeconds = (performance.now() - started) / 1000;
  if (refused > 0) throw new Error(`${refused} reports were refused`);
  for (;;) {
    const summary = await deploymentSummary(site, deploymentId);
    if (summary.succeeded >= clientsCount) break;
    if (performance.now() - started > 600_000)
      throw new Error(`only ${summary.succeeded} of ${clientsCount} succeeded after 600 s`);
    await sleep(50);
  }
  const committedSeconds = (performance.now() - started) / 1000;
  layout.profileWindow('ingest through two MPs', windowStart, monotonicUs());
  const rawAfter = await rawRun('raw2');
  const raw = mean([rawBefore, rawAfter]);
  context.figure({
    scenario: name,
    name: `status messages committed per second through two standalone MPs, PostgreSQL (${messages.toLocaleString('en-US')} messages, 100 reports per request, 2 senders per MP)`,
    value: messages / committedSeconds,
    unit: 'msg/s',
    baseline: {
      name: 'raw INSERT of the same rows (plain script, 500 per transaction)',
      value: raw,
      unit: 'rows/s',
    },
    budget: { text: '≥ 10,000/s and ≥ 0.5 × raw', atLeast: 10_000, ratioAtLeast: 0.5 },
  });
  context.figure({
    scenario: name,
    name: 'status messages acknowledged per second by two standalone MPs (verified and in the inbox), PostgreSQL',
    value: messages / ackedSeconds,
    unit: 'msg/s',
    baseline: { name: 'raw INSERT of the same rows', value: raw, unit: 'rows/s' },
  });
  context.note(
    name,
    `ingest: raw INSERT baseline ${rawBefore.toFixed(0)} rows/s before and ${rawAfter.toFixed(0)} rows/s after the run through the MPs (same primary, same rows, other message ids).`,
  );
}

async function fanOutThroughMps(context: RunContext, layout: ScaleOutLayout, dir: string): Promise<void> {
  const agents = context.quick ? 100 : 1000;
  const pollIntervalMs = context.quick ? 2000 : 10_000;
  const site = layout.site;
  const init = site.folder.init;
  const costBefore = measureCryptoCost(context.quick ? 300 : 1000, context.seed);
  const half = Math.ceil(agents / layout.mps.length);
  const fleets = layout.mps.map(
    (mp, index) =>
      new Fleet(
        { url: mp.url, siteCode: init.siteCode, rootPin: init.rootFingerprint },
        {
          seed: context.seed,
          count: Math.min(half, agents - index * half),
          firstIndex: index * half,
          maxInFlight: 128,
        },
      ),
  );
  try {
    const enrolStarted = performance.now();
    await Promise.all(fleets.map((fleet) => fleet.enrolAll()));
    const enrolSeconds = (performance.now() - enrolStarted) / 1000;
    await Promise.all(fleets.map((fleet) => fleet.cycleAll()));
    await waitForQuietSite(site);
    const pkg = await importPackage(site, join(dir, 'fan-out-package'), {
      name: 'fan-out-package',
      seed: context.seed,
      files: [{ path: 'payload.bin', bytes: 64 * 1024 }],
    });
    // The ingest package and this one: the DP holds both before the deployment is created.
    await waitForContentPresent(layout, 2);
    const collection = await createDirectCollection(
      site,
      'fan-out agents',
      fleets.flatMap((fleet) => fleet.agents.map((a) => a.clientId)),
    );
    for (const fleet of fleets) fleet.start(pollIntervalMs, pollIntervalMs);
    await sleep(pollIntervalMs * 1.2);
    await waitForQuietSite(site, 0.6, 30_000);

    const before = fleets.map((fleet) => fleet.counters.cryptoSnapshot());
    const cpuBefore = site.cpuSeconds();
    const mpCpuBefore = layout.mps.map((mp) => cpuSecondsOf(mp.child.pid));
    const origin = performance.now();
    const deploymentId = await createMandatoryDeployment(site, pkg.packageId, collection);
    const samples: [number, number][] = [[0, 0]];
    const timeoutSeconds = context.quick ? 120 : 300;
    let doneSeconds: number | null = null;
    let last = { succeeded: 0, failed: 0, targeted: 0 };
    while (doneSeconds === null) {
      const summary = await deploymentSummary(site, deploymentId);
      const t = (performance.now() - origin) / 1000;
      samples.push([t, summary.succeeded]);
      last = summary;
      if (summary.succeeded >= agents) doneSeconds = t;
      else if (t > timeoutSeconds) break;
      else await sleep(200);
    }
    const siteCpu = site.cpuSeconds() - cpuBefore;
    const mpCpu = layout.mps.map((mp, i) => cpuSecondsOf(mp.child.pid) - (mpCpuBefore[i] ?? 0));
    const ops = fleets
      .map((fleet, i) =>
        cryptoDelta(fleet.counters.cryptoSnapshot(), before[i] ?? fleet.counters.cryptoSnapshot()),
      )
      .reduce(addSnapshots);
    for (const fleet of fleets) await fleet.stop();
    const costAfter = measureCryptoCost(context.quick ? 300 : 1000, context.seed);
    const signUs = (costBefore.signUs + costAfter.signUs) / 2;
    const verifyUs = (costBefore.verifyUs + costAfter.verifyUs) / 2;
    const cores = cpus().length;
    const signs = ops.siteSigns + ops.agentSigns + 1;
    const verifies = ops.siteVerifies + ops.agentVerifiesNeeded;
    const floorSeconds = (signs * signUs + verifies * verifyUs) / 1e6 / cores;
    const what = `${agents.toLocaleString('en-US')} agents split over two standalone MPs, 64 KiB package from a standalone DP, PostgreSQL`;
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
      ...(doneSeconds === null
        ? {
            note: `not finished after ${timeoutSeconds} s: ${last.succeeded} succeeded, ${last.failed} failed of ${last.targeted}`,
          }
        : {}),
    });
    context.figure({
      scenario: name,
      name: `${what}: site server CPU during the fan-out`,
      value: siteCpu,
      unit: 'CPU s',
    });
    context.figure({
      scenario: name,
      name: `${what}: CPU of the two MPs during the fan-out (sum)`,
      value: mpCpu.reduce((a, b) => a + b, 0),
      unit: 'CPU s',
    });
    context.note(
      name,
      `fan-out: poll interval ${pollIntervalMs / 1000} s ±20% (every agent has polled ${((pollIntervalMs * 1.2) / 1000).toFixed(0)} s after creation at the latest); ` +
        `registration of ${agents} agents through the two MPs took ${enrolSeconds.toFixed(1)} s; MP CPU ${mpCpu.map((c) => c.toFixed(1)).join(' + ')} s; ` +
        `crypto floor from ${signs} signatures × ${signUs.toFixed(1)} µs + ${verifies} verifications × ${verifyUs.toFixed(1)} µs ÷ ${cores} cores; ` +
        `agent errors: ${fleets.map((f) => f.counters.errorSummary()).join(' / ')}.`,
    );
    await writeFile(
      context.artifact('scale-out-fan-out.json'),
      `${JSON.stringify({ agents, committed: samples, floorSeconds, doneSeconds })}\n`,
    );
  } finally {
    for (const fleet of fleets) await fleet.stop();
  }
}

function addSnapshots(a: CryptoSnapshot, b: CryptoSnapshot): CryptoSnapshot {
  return {
    agentSigns: a.agentSigns + b.agentSigns,
    agentVerifiesNeeded: a.agentVerifiesNeeded + b.agentVerifiesNeeded,
    agentVerifiesRepeat: a.agentVerifiesRepeat + b.agentVerifiesRepeat,
    agentVerifiesTrust: a.agentVerifiesTrust + b.agentVerifiesTrust,
    siteSigns: a.siteSigns + b.siteSigns,
    siteVerifies: a.siteVerifies + b.siteVerifies,
  };
}
