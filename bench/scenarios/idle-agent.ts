import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runToEnd, startChild, type StartedChild } from '../harness/children.js';
import type { RunContext } from '../harness/context.js';
import { cpuSecondsOf, MiB, RssSampler, memoryOf, type MemoryStats } from '../harness/proc-stats.js';
import { median } from '../harness/stats.js';
import { sleep } from '../harness/timing.js';
import {
  createBenchSite,
  repositoryRoot,
  startBenchSite,
  stewardBin,
  type RunningBenchSite,
} from '../site/bench-site.js';
import type { Scenario } from './scenario.js';

const name = 'idle-agent';
const singleFileAgent = join(repositoryRoot, 'dist', 'steward-agent.cjs');

interface Watched {
  readonly label: string;
  readonly child: StartedChild;
}

/**
 * One real `steward agent run` (the built command, default intervals), enrolled at a site with an
 * enrolment token: its resident memory and CPU over 60 s (10 s in quick mode) once its first cycle
 * is done. Watched in the same window, for context: the single-file agent build
 * (dist/steward-agent.cjs, docs/agent.md) enrolled the same way, and a bare Node process that
 * only keeps a timer.
 */
export const idleAgent: Scenario = {
  name,
  summary: 'RSS and CPU of one idle `steward agent run`',
  async run(context: RunContext) {
    const windowSeconds = context.quick ? 10 : 60;
    const dir = await context.workFolder(name);
    const folder = await createBenchSite(context, dir, { approval: 'token' });
    const site = await startBenchSite(context, folder, name, name);
    const watched: Watched[] = [];
    let heapWatcher: StartedChild | undefined;
    try {
      const agents: { label: string; entry: string; nodeArgs: string[] }[] = [
        { label: 'steward agent run', entry: stewardBin, nodeArgs: [] },
      ];
      if (!context.quick) await addEvidenceAgents(context, agents);
      for (const [index, agent] of agents.entries()) {
        const agentDir = join(dir, `agent-${index}`);
        await enrol(
          site,
          agent.entry,
          agentDir,
          folder.init.rootFingerprint,
          folder.init.enrolmentToken,
          index,
        );
        watched.push({
          label: agent.label,
          child: startChild(
            process.execPath,
            [...agent.nodeArgs, agent.entry, 'agent', 'run', '--data', agentDir],
            join(dir, `agent-${index}.log`),
          ),
        });
      }
      // Evidence, not a figure: one more `steward agent run` that writes its V8 heap statistics
      // every 2 s (the writes make it a little less idle, so it is not measured).
      const heapFile = join(dir, 'heap-stats.json');
      if (!context.quick) {
        const instrumented = join(dir, 'agent-heap');
        await enrol(
          site,
          stewardBin,
          instrumented,
          folder.init.rootFingerprint,
          folder.init.enrolmentToken,
          9,
        );
        heapWatcher = startChild(
          process.execPath,
          ['--import', heapStatsPreload(heapFile), stewardBin, 'agent', 'run', '--data', instrumented],
          join(dir, 'agent-heap.log'),
        );
      }
      watched.push({
        label: 'bare node process with one timer',
        child: startChild(
          process.execPath,
          ['-e', 'setInterval(() => {}, 60_000)'],
          join(dir, 'bare-node.log'),
        ),
      });
      // The first cycle (trust, heartbeat, inventory, reports) is not idle: wait until it is done.
      const settled = await waitUntilQuiet(watched[0]!.child.pid);
      const samplers = watched.map((w) => new RssSampler(w.child.pid, 1000));
      const cpuBefore = watched.map((w) => cpuSecondsOf(w.child.pid));
      const started = performance.now();
      await sleep(windowSeconds * 1000);
      const elapsed = (performance.now() - started) / 1000;
      const results = watched.map((w, i) => {
        const sampled = samplers[i]!.stop();
        return {
          label: w.label,
          cpuPercent: ((cpuSecondsOf(w.child.pid) - (cpuBefore[i] ?? 0)) / elapsed) * 100,
          rssMax: sampled.maxBytes,
          rssMin: Math.min(...sampled.samples),
          rssMedian: median(sampled.samples),
          memory: memoryOf(w.child.pid),
        };
      });
      await heapWatcher?.stop();
      const [agent, ...others] = results;
      const bare = results.find((r) => r.label.startsWith('bare'));
      if (agent === undefined || bare === undefined) throw new Error('nothing was watched');
      const bareBaseline = {
        name: 'bare node process with one timer',
        value: bare.rssMax / MiB,
        unit: 'MiB',
      };
      context.figure({
        scenario: name,
        name: `idle \`steward agent run\`: resident memory (max over ${windowSeconds} s)`,
        value: agent.rssMax / MiB,
        unit: 'MiB',
        baseline: bareBaseline,
        budget: { text: '< 80 MiB', atMost: 80 },
      });
      context.figure({
        scenario: name,
        name: `idle \`steward agent run\`: CPU (over ${windowSeconds} s)`,
        value: agent.cpuPercent,
        unit: '% of a core',
        budget: { text: '< 1% of a core', atMost: 1 },
      });
      for (const other of others.filter((o) => o !== bare)) {
        context.figure({
          scenario: name,
          name: `idle ${other.label}: resident memory`,
          value: other.rssMax / MiB,
          unit: 'MiB',
          baseline: bareBaseline,
        });
        context.figure({
          scenario: name,
          name: `idle ${other.label}: CPU`,
          value: other.cpuPercent,
          unit: '% of a core',
        });
      }
      context.note(
        name,
        `default intervals (poll 60 s, heartbeat 1 h, inventory 4 h); measured after the first cycle settled (${settled} s). ` +
          results
            .map(
              (r) =>
                `${r.label}: RSS over the window min ${(r.rssMin / MiB).toFixed(0)} / median ${(r.rssMedian / MiB).toFixed(0)} / max ${(r.rssMax / MiB).toFixed(0)} MiB, at the end ${describeMemory(r.memory)}, CPU ${r.cpuPercent.toFixed(2)}%`,
            )
            .join('; ') +
          '.',
      );
      const heap = await readFile(heapFile, 'utf8').catch(() => undefined);
      if (heap !== undefined)
        context.note(
          name,
          `V8 heap of an instrumented \`steward agent run\` after ${windowSeconds} s idle: ${describeHeap(heap)}.`,
        );
    } finally {
      await heapWatcher?.stop();
      for (const w of watched) await w.child.stop();
      await site.stop();
    }
  },
};

/** For the notes: the single-file agent build, and the agent with a 1 MiB young generation. */
async function addEvidenceAgents(
  context: RunContext,
  agents: { label: string; entry: string; nodeArgs: string[] }[],
): Promise<void> {
  const built = await runToEnd(process.execPath, [join(repositoryRoot, 'scripts', 'build.mjs'), '--agent'], {
    cwd: repositoryRoot,
    timeoutMs: 120_000,
  });
  if (built.code === 0)
    agents.push({ label: 'single-file agent (steward-agent.cjs)', entry: singleFileAgent, nodeArgs: [] });
  else context.note(name, `the single-file agent did not build: ${built.stderr.trim()}`);
  agents.push({
    label: 'steward agent run, node --max-semi-space-size=1',
    entry: stewardBin,
    nodeArgs: ['--max-semi-space-size=1'],
  });
}

async function enrol(
  site: RunningBenchSite,
  entry: string,
  agentDir: string,
  rootPin: string,
  token: string,
  index: number,
): Promise<void> {
  const enrolled = await runToEnd(
    process.execPath,
    [
      entry,
      'agent',
      'enroll',
      '--data',
      agentDir,
      '--mp',
      site.url,
      '--root-key',
      rootPin,
      '--mode',
      'secure',
      '--token',
      token,
      '--hostname',
      `bench-idle-${index}`,
      '--json',
    ],
    { timeoutMs: 120_000 },
  );
  if (enrolled.code !== 0) throw new Error(`agent enroll failed: ${enrolled.stderr}`);
}

/** Seconds until the process used under 5 ms of CPU in one second (at most 60). */
async function waitUntilQuiet(pid: number): Promise<number> {
  let before = cpuSecondsOf(pid);
  for (let second = 1; second <= 60; second += 1) {
    await sleep(1000);
    const now = cpuSecondsOf(pid);
    if (second >= 3 && now - before < 0.005) return second;
    before = now;
  }
  return 60;
}

/**
 * A preload module (as a data: URL, so the agent runs unchanged) that writes the process's memory
 * usage and V8 heap spaces to `file` every 2 s.
 */
function heapStatsPreload(file: string): string {
  const source = [
    "import { writeFileSync } from 'node:fs';",
    "import { getHeapSpaceStatistics } from 'node:v8';",
    'setInterval(() => {',
    '  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));',
    `  writeFileSync(${JSON.stringify(file)}, JSON.stringify({ usage: process.memoryUsage(), spaces }));`,
    '}, 2000).unref();',
  ].join('\n');
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

function describeHeap(text: string): string {
  const parsed = JSON.parse(text) as {
    usage: Record<string, number>;
    spaces: Record<string, { size: number; used: number }>;
  };
  const mib = (bytes: number | undefined) => `${((bytes ?? 0) / MiB).toFixed(1)} MiB`;
  const spaces = Object.entries(parsed.spaces)
    .filter(([, s]) => s.size > 256 * 1024)
    .map(([space, s]) => `${space} ${mib(s.size)} (${mib(s.used)} used)`)
    .join(', ');
  return `rss ${mib(parsed.usage['rss'])}, heap total ${mib(parsed.usage['heapTotal'])}, heap used ${mib(parsed.usage['heapUsed'])}, external ${mib(parsed.usage['external'])}, array buffers ${mib(parsed.usage['arrayBuffers'])}; spaces: ${spaces}`;
}

function describeMemory(memory: MemoryStats): string {
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
  return `RSS ${mib(memory.rssBytes)} (anonymous ${mib(memory.anonBytes)}, file-backed ${mib(memory.fileBytes)}), peak ${mib(memory.peakRssBytes)}`;
}
