import { cpus, loadavg } from 'node:os';
import { databaseLocation } from '../../src/site/database/open.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { Fleet } from '../agent-sim/fleet.js';
import { agentIdentity } from '../agent-sim/identity.js';
import type { RunContext } from '../harness/context.js';
import { MiB, RssSampler } from '../harness/proc-stats.js';
import { sleep, watchLoopDelay } from '../harness/timing.js';
import { monotonicUs } from '../profile/summarise-profile.js';
import {
  createBenchSite,
  startBenchSite,
  waitForQuietSite,
  type RunningBenchSite,
} from '../site/bench-site.js';
import { clientRowOf, seedClients, silentClientRow } from '../site/seed-clients.js';
import type { Scenario } from './scenario.js';

const name = 'scale';
const firstIndex = 1_000_000;
const rule = 'os.family = "linux" and memory.totalMb >= 8000';

/**
 * 100,000 registered clients in the site database (inserted in batches, with discovery and three
 * inventory facts each); 1,000 of them are simulated agents polling over the real protocol. The
 * figures: the site's peak memory, the poll p99 in steady state, and the time to create and
 * evaluate a rule-based collection over every client while they poll. Absolute, on two cores.
 */
export const scale: Scenario = {
  name,
  summary: '100,000 registered clients: site RSS, poll p99 with 1,000 pollers, rule evaluation time',
  async run(context: RunContext) {
    const clients = context.quick ? 2000 : 100_000;
    const pollers = context.quick ? 50 : 1000;
    const pollIntervalMs = context.quick ? 1000 : 10_000;
    const measureSeconds = context.quick ? 4 : 60;
    const dir = await context.workFolder(name);
    const folder = await createBenchSite(context, dir);

    let started = performance.now();
    await seedClients(
      databaseLocation(undefined, siteDataLayout(folder.dataDir).database),
      folder.init.siteCode,
      Array.from({ length: clients }, (_, i) => ({
        client:
          i < pollers
            ? clientRowOf(agentIdentity(context.seed, firstIndex + i))
            : silentClientRow(context.seed, i),
        facts: {
          'os.family': i % 2 === 0 ? 'linux' : 'windows',
          'memory.totalMb': 2048 * (1 + (i % 8)),
          'cpu.cores': 1 + (i % 4),
        },
      })),
      (done) => {
        if (done % 20_000 === 0) context.log(`    ${done} clients inserted`);
      },
    );
    const insertSeconds = (performance.now() - started) / 1000;
    context.note(
      name,
      `${clients.toLocaleString('en-US')} clients with discovery and 3 inventory facts each inserted in ${insertSeconds.toFixed(1)} s; ` +
        `the ${pollers} pollers have real keys, the others only a public key in the database (they never send).`,
    );

    const site = await startBenchSite(context, folder, name, name);
    const rss = new RssSampler(site.pid, 500);
    const fleet = new Fleet(
      { url: site.url, siteCode: folder.init.siteCode, rootPin: folder.init.rootFingerprint },
      { seed: context.seed, count: pollers, firstIndex, maxInFlight: 512 },
    );
    try {
      await waitForQuietSite(site);
      const idle = site.memory().rssBytes;
      // The pollers' first cycle: trust, heartbeat and inventory, the first assignment list.
      await fleet.adoptAll();
      started = performance.now();
      await fleet.cycleAll();
      const firstCycleSeconds = (performance.now() - started) / 1000;
      const firstPolls = fleet.counters.latency.policyFirst;
      const firstP99 = firstPolls.quantile(0.99);
      await waitForQuietSite(site);

      fleet.start(pollIntervalMs, pollIntervalMs);
      await sleep(pollIntervalMs * 1.5);
      const steady = await measurePolls(site, fleet, measureSeconds, `${pollers} pollers, steady state`);

      // A rule collection over every client, created while the pollers poll.
      fleet.counters.latency.policy.reset();
      fleet.counters.latency.trust.reset();
      const windowStart = monotonicUs();
      started = performance.now();
      const collection = await site.admin.post<{ id: string; memberCount: number }>('/collections', {
        name: 'linux with 8 GB or more',
        rule,
      });
      const evaluationSeconds = (performance.now() - started) / 1000;
      await sleep(pollIntervalMs);
      const duringP99 = fleet.counters.latency.policy.quantile(0.99);
      // The trust bundle is answered from memory: when it is late too, the site's event loop was blocked.
      const duringTrustP99 = fleet.counters.latency.trust.quantile(0.99);
      site.profileWindow('the rule collection created over all clients', windowStart, monotonicUs());
      await fleet.stop();
      const memory = rss.stop();

      const count = clients.toLocaleString('en-US');
      context.figure({
        scenario: name,
        name: `site peak RSS with ${count} registered clients (sampled through the scenario)`,
        value: memory.maxBytes / MiB,
        unit: 'MiB',
        budget: { text: '< 1 GiB', atMost: 1024 },
      });
      context.figure({
        scenario: name,
        name: `policy poll p99, ${pollers} agents polling every ${pollIntervalMs / 1000} s ±20% with ETag (${count} clients)`,
        value: steady.p99,
        unit: 'ms',
        budget: { text: '< 50 ms', atMost: 50 },
      });
      context.figure({
        scenario: name,
        name: `create and evaluate a rule collection over ${count} clients (${collection.memberCount.toLocaleString('en-US')} members), while they poll`,
        value: evaluationSeconds,
        unit: 's',
        budget: { text: '< 5 s', atMost: 5 },
      });
      context.figure({
        scenario: name,
        name: 'policy poll p99 while that collection is evaluated',
        value: duringP99,
        unit: 'ms',
      });
      context.note(
        name,
        `rule \`${rule}\`; site RSS idle after start ${(idle / MiB).toFixed(0)} MiB; steady state: ${steady.polls} polls in ${steady.seconds.toFixed(0)} s ` +
          `(${(steady.polls / steady.seconds).toFixed(0)}/s, plus as many trust checks), p50 ${steady.p50.toFixed(2)} ms, trust p99 ${steady.trustP99.toFixed(2)} ms, ` +
          `site CPU ${(steady.cpuFraction * 100).toFixed(0)}% of a core; the pollers' first cycle took ${firstCycleSeconds.toFixed(1)} s ` +
          `(first poll, list built and signed, p99 ${firstP99.toFixed(0)} ms); agent errors: ${fleet.counters.errorSummary()}. ` +
          `The simulator's own event-loop delay in the steady window: p99 ${steady.loopDelay.p99Ms.toFixed(1)} ms, max ${steady.loopDelay.maxMs.toFixed(0)} ms ` +
          `(part of every latency it records); machine load average ${steady.load.toFixed(1)} on ${cpus().length} cores.`,
      );
      context.note(
        name,
        `while the rule collection was created and evaluated: policy poll p99 ${duringP99.toFixed(0)} ms, trust bundle (answered from memory) p99 ${duringTrustP99.toFixed(0)} ms.`,
      );
    } finally {
      await fleet.stop();
      rss.stop();
      await site.stop();
    }
  },
};

async function measurePolls(site: RunningBenchSite, fleet: Fleet, seconds: number, label: string) {
  fleet.counters.latency.policy.reset();
  fleet.counters.latency.trust.reset();
  const pollsBefore = fleet.counters.requests.get('policy') ?? 0;
  const windowStart = monotonicUs();
  const cpuBefore = site.cpuSeconds();
  const loop = watchLoopDelay();
  const load = loadavg()[0] ?? 0;
  const started = performance.now();
  await sleep(seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  const loopDelay = loop();
  site.profileWindow(label, windowStart, monotonicUs());
  return {
    seconds: elapsed,
    polls: (fleet.counters.requests.get('policy') ?? 0) - pollsBefore,
    p50: fleet.counters.latency.policy.quantile(0.5),
    p99: fleet.counters.latency.policy.quantile(0.99),
    trustP99: fleet.counters.latency.trust.quantile(0.99),
    cpuFraction: (site.cpuSeconds() - cpuBefore) / elapsed,
    loopDelay,
    load: Math.max(load, loadavg()[0] ?? 0),
  };
}
