import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../../bench/scenarios/index.js';

/**
 * CI smoke test of the benchmarks (issue 11): `npm run bench -- --quick` runs every scenario at a
 * small size and writes its figures. This asserts only that every scenario ran and produced
 * figures, never a figure's value: benchmarks are not timed unit tests (DESIGN.md section 8).
 * Quick mode takes about two minutes on a quiet machine; the time limit leaves room for a loaded one.
 */
const repository = resolve(import.meta.dirname, '../..');

describe('npm run bench -- --quick', () => {
  it('runs every scenario and writes one JSON line per figure and a Markdown table', async () => {
    const out = await mkdtemp(join(tmpdir(), 'steward-bench-quick-'));
    try {
      const run = await new Promise<{ code: number | null; output: string }>((done) => {
        execFile(
          process.execPath,
          ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out],
          { cwd: repository, timeout: 420_000, maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) =>
            done({ code: error === null ? 0 : (error.code as number | null), output: `${stdout}${stderr}` }),
        );
      });
      const files = await readdir(out);
      const jsonl = files.find((f) => f.endsWith('.jsonl'));
      const markdown = files.find((f) => f.endsWith('.md'));
      expect(jsonl, run.output.slice(-4000)).toBeDefined();
      expect(markdown).toBeDefined();
      const figures = (await readFile(join(out, jsonl!), 'utf8'))
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as { scenario: string; value: number | null });
      for (const scenario of scenarios) {
        const produced = figures.filter((f) => f.scenario === scenario.name && typeof f.value === 'number');
        expect(
          produced.length,
          `${scenario.name} produced no figures:\n${run.output.slice(-4000)}`,
        ).toBeGreaterThan(0);
      }
      expect(await readFile(join(out, markdown!), 'utf8')).toContain('| Scenario | Figure |');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 450_000);
});
