/**
 * Running a real agent process (`steward agent run --once --json`) and reading what it says.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSteward } from './steward-process.js';

/** What `steward agent run --once --json` prints (src/agent/agent-engine.ts CycleResult). */
export interface CycleOutput {
  managementPoint: string | null;
  assignments: number;
  reportsSent: number;
  reportsQueued: number;
  errors: string[];
}

export interface AgentRun {
  code: number | null;
  cycle: CycleOutput;
  stderr: string;
}

/** One full agent cycle in its own process. */
export async function runAgentOnce(dataDir: string, extraArgs: readonly string[] = []): Promise<AgentRun> {
  const result = await runSteward(['agent', 'run', '--data', dataDir, '--once', '--json', ...extraArgs]);
  let cycle: CycleOutput;
  try {
    cycle = JSON.parse(result.stdout) as CycleOutput;
  } catch (cause) {
    throw new Error(`agent run printed no JSON (exit ${result.code}): ${result.stderr}`, { cause });
  }
  return { code: result.code, cycle, stderr: result.stderr };
}

/** A fresh, empty folder for one agent. */
export async function agentFolder(prefix = 'steward-agent-'): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), prefix)), 'agent');
}
