import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Figure } from './figures.js';
import { formatNumber, ratioOf, verdictOf } from './figures.js';

/** What every scenario receives: the mode, the seed, where to work and where to put figures. */
export interface RunContext {
  readonly quick: boolean;
  readonly seed: number;
  /** Start site servers with --cpu-prof and summarise the profile in the notes. */
  readonly profile: boolean;
  /** Fan-out sizes given with --agents, instead of the scenario's defaults. */
  readonly fanOutAgents?: readonly number[];
  readonly outDir: string;
  /** A stamp shared by every file of this run. */
  readonly stamp: string;
  /** Extra files of a scenario (SVG charts, profiles) are written here, beside the results. */
  artifact(name: string): string;
  /** A new empty folder under the run's work folder, removed at the end of the run. */
  workFolder(name: string): Promise<string>;
  figure(figure: Figure): void;
  note(scenario: string, text: string): void;
  log(text: string): void;
}

export interface RunRecord {
  readonly figures: Figure[];
  readonly notes: Map<string, string[]>;
  readonly artifacts: string[];
}

export async function createContext(options: {
  quick: boolean;
  seed: number;
  profile: boolean;
  fanOutAgents?: readonly number[];
  outDir: string;
  stamp: string;
}): Promise<{ context: RunContext; record: RunRecord; cleanup: () => Promise<void> }> {
  await mkdir(options.outDir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'steward-bench-'));
  const record: RunRecord = { figures: [], notes: new Map(), artifacts: [] };
  const started = Date.now();
  const log = (text: string) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    process.stdout.write(`[${seconds}s] ${text}\n`);
  };
  const context: RunContext = {
    ...options,
    artifact: (name) => {
      const path = join(options.outDir, `${options.stamp}-${name}`);
      record.artifacts.push(path);
      return path;
    },
    workFolder: async (name) => {
      const dir = join(work, name);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return dir;
    },
    figure: (figure) => {
      record.figures.push(figure);
      const ratio = ratioOf(figure);
      const base = figure.baseline;
      log(
        `  ${figure.scenario} | ${figure.name}: ${formatNumber(figure.value)} ${figure.unit}` +
          (base === undefined ? '' : ` | ${base.name}: ${formatNumber(base.value)} ${base.unit}`) +
          (ratio === null ? '' : ` | ratio ${ratio.toFixed(2)}`) +
          (figure.budget === undefined ? '' : ` | budget ${figure.budget.text}: ${verdictOf(figure)}`),
      );
    },
    note: (scenario, text) => {
      const list = record.notes.get(scenario) ?? [];
      list.push(text);
      record.notes.set(scenario, list);
      log(`  note (${scenario}): ${text}`);
    },
    log,
  };
  return { context, record, cleanup: () => rm(work, { recursive: true, force: true }) };
}
