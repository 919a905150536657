import { z } from 'zod';
import { readState, writeState } from '../state/json-state.js';

/**
 * What ran, per deployment, kept durably so that a restart never runs a "never rerun" program
 * twice: a run is recorded as started before the program is spawned, and as finished after.
 */
export const runRecordSchema = z.strictObject({
  deploymentId: z.string(),
  policyVersion: z.number().int(),
  state: z.enum(['running', 'succeeded', 'failed', 'timed-out', 'interrupted']),
  exitCode: z.number().int().nullable(),
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  runs: z.number().int().min(1),
});

const runRecordsSchema = z.strictObject({
  records: z.record(z.string(), runRecordSchema),
  /** Deployments whose "received" message was sent, by policy version. */
  received: z.record(z.string(), z.number().int()),
  expiredReported: z.array(z.string()),
});

export type RunRecord = z.output<typeof runRecordSchema>;
export type RunRecords = z.output<typeof runRecordsSchema>;

export async function readRunRecords(path: string): Promise<RunRecords> {
  return (await readState(path, runRecordsSchema)) ?? { records: {}, received: {}, expiredReported: [] };
}

export async function writeRunRecords(path: string, records: RunRecords): Promise<void> {
  await writeState(path, records);
}

/** Whether the rerun rule lets the program run (again) for this policy version. */
export function mayRun(
  rerun: 'never' | 'always' | 'if-failed' | 'if-succeeded',
  previous: RunRecord | undefined,
  policyVersion: number,
): boolean {
  if (previous === undefined) return true;
  if (previous.state === 'running') return false;
  switch (rerun) {
    case 'never':
      return false;
    case 'always':
      return previous.policyVersion < policyVersion;
    case 'if-failed':
      return previous.state !== 'succeeded' && previous.policyVersion < policyVersion;
    case 'if-succeeded':
      return previous.state === 'succeeded' && previous.policyVersion < policyVersion;
  }
}
