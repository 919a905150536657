/**
 * `npm run bench [-- SCENARIO...] [--quick] [--seed N] [--out DIR] [--profile]`: runs the
 * benchmark scenarios of issue 11 one after another and writes one JSON line per figure and a
 * Markdown table to bench/results/ (docs/performance.md explains every figure).
 */
import { copyFile, readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext } from './harness/context.js';
import { gitCommit, machineFacts } from './harness/machine.js';
import { renderTable, writeResults } from './harness/report.js';
import { postgresVersion } from './site/postgres.js';
import { namedOnlyScenarios, scenarios } from './scenarios/index.js';

const usage = `usage: npm run bench -- [SCENARIO...] [--quick] [--seed N] [--out DIR] [--profile]

scenarios: ${scenarios.map((s) => s.name).join(', ')} (default: all)
           ${namedOnlyScenarios.map((s) => s.name).join(', ')} (only when named)
  --quick     small sizes and short durations (a smoke test, under 3 minutes)
  --seed N    seed of the simulated agents' keys, jitter and faults (default 11)
  --out DIR   where results go (default bench/results)
  --profile   run site servers under node --cpu-prof and summarise where their time went
  --agents N  fan-out sizes instead of the defaults, e.g. --agents 1000 or --agents 500,2000`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    seed: { type: 'string', default: '11' },
    out: { type: 'string' },
    profile: { type: 'boolean', default: false },
    agents: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

const known = [...scenarios, ...namedOnlyScenarios];
const unknown = positionals.filter((p) => !known.some((s) => s.name === p));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(', ')}\n${usage}\n`);
  process.exit(2);
}
const selected = positionals.length === 0 ? scenarios : known.filter((s) => positionals.includes(s.name));
const seed = Number(values.seed);
const repository = resolve(import.meta.dirname, '..');
const outDir =
  values.out === undefined
    ? join(repository, 'bench', 'results')
    : isAbsolute(values.out)
      ? values.out
      : resolve(values.out);
const started = new Date();
const stamp = started.toISOString().replace(/[:.]/g, '-').slice(0, 19);
const mode = values.quick ? 'quick' : 'full';

const fanOutAgents = values.agents?.split(',').map(Number);
if (fanOutAgents?.some((n) => !Number.isSafeInteger(n) || n < 1) === true) {
  process.stderr.write(`--agents takes whole numbers: ${values.agents ?? ''}\n`);
  process.exit(2);
}
const { context, record, cleanup } = await createContext({
  quick: values.quick,
  seed,
  profile: values.profile,
  outDir,
  stamp,
  ...(fanOutAgents === undefined ? {} : { fanOutAgents }),
});
const machine = machineFacts();
context.log(`steward bench (${mode}), seed ${seed}: ${selected.map((s) => s.name).join(', ')}`);
context.log(`${machine.cpuModel}, ${machine.cores} cores; load average ${machine.loadAverageAtStart}`);

const stale = await distIsStale(repository);
if (stale !== undefined)
  context.log(`warning: ${stale}; \`npm run bench\` builds first, \`node bench/run.ts\` does not`);

const failures: { scenario: string; error: string }[] = [];
for (const scenario of selected) {
  context.log(`${scenario.name}: ${scenario.summary}`);
  const before = record.figures.length;
  try {
    await scenario.run(context);
  } catch (error) {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    context.log(`${scenario.name} FAILED: ${text}`);
    failures.push({ scenario: scenario.name, error: error instanceof Error ? error.message : String(error) });
  }
  if (record.figures.length === before && !failures.some((f) => f.scenario === scenario.name)) {
    failures.push({ scenario: scenario.name, error: 'produced no figures' });
  }
}

const { jsonl, markdown } = await writeResults(
  outDir,
  {
    stamp,
    date: started.toISOString(),
    commit: gitCommit(),
    mode,
    seed,
    scenarios: selected.map((s) => s.name),
    command: `npm run bench --${positionals.length > 0 ? ` ${positionals.join(' ')}` : ''}${values.quick ? ' --quick' : ''}`,
    machine,
    postgres: await postgresVersion(),
    durationSeconds: (Date.now() - started.getTime()) / 1000,
    failures,
  },
  record,
  {
    updateLatest:
      !values.quick && positionals.length === 0 && values.out === undefined && fanOutAgents === undefined,
  },
);
if (!values.quick && values.out === undefined && fanOutAgents === undefined) {
  // Stable names for docs/performance.md: the charts of the latest full-size run.
  for (const artifact of record.artifacts.filter((a) => /\.(svg|json)$/.test(a))) {
    await copyFile(artifact, join(outDir, `latest-${basename(artifact).slice(stamp.length + 1)}`));
  }
}
await cleanup();
process.stdout.write(`\n${renderTable(record.figures)}\n\nresults: ${jsonl}\n         ${markdown}\n`);
if (failures.length > 0) {
  process.stdout.write(`failed: ${failures.map((f) => `${f.scenario} (${f.error})`).join('; ')}\n`);
  process.exitCode = 1;
}

/** Why dist/ does not reflect src/ (the site runs from dist/, the simulator from src/), if it does not. */
async function distIsStale(root: string): Promise<string | undefined> {
  const built = await stat(join(root, 'dist', 'steward.mjs')).catch(() => undefined);
  if (built === undefined) return 'dist/steward.mjs is missing';
  const entries = await readdir(join(root, 'src'), { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const changed = await stat(join(entry.parentPath, entry.name)).catch(() => undefined);
    if (changed !== undefined && changed.mtimeMs > built.mtimeMs)
      return `src/ changed after dist/ was built (${entry.name})`;
  }
  return undefined;
}
