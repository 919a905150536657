import {
  isStewardError,
  type PolicyBodyPayload,
  type TlsClientOptions,
  type VerifyingKey,
} from '../../trust/index.js';
import type { StatusName } from '../../protocol/index.js';
import { CacheFullError } from '../agent-errors.js';
import type { ContentCache } from '../content/content-cache.js';
import { downloadContent, isManifestRefusal } from '../content/content-download.js';
import { runProgram } from '../runner/program-runner.js';
import { mayRun, readRunRecords, writeRunRecords, type RunRecords } from '../runner/run-records.js';

export interface DeploymentContext {
  /** The agent's data folder, given to programs as STEWARD_AGENT_DIR. */
  agentDir: string;
  runsPath: string;
  cache: ContentCache;
  siteKeys: ReadonlyMap<string, VerifyingKey>;
  /** For https distribution points: the hierarchy CA and the client certificate (docs/tls.md). */
  tls?: TlsClientOptions | undefined;
  /** Distribution points tried first: the one beside the agent's management point (docs/hierarchy.md). */
  preferredContentUrls?: readonly string[] | undefined;
  /** Package versions of every deployment in force: never evicted from the cache. */
  inUse: ReadonlySet<string>;
  report(
    name: StatusName,
    body: PolicyBodyPayload,
    insertionStrings?: string[],
    extra?: { exitCode?: number | null; outputTail?: string | null },
  ): Promise<void>;
  log(line: string): void;
  /** Sends queued reports now, so the site sees progress before a long program ends. */
  flush(): Promise<void>;
  signal?: AbortSignal;
}

/**
 * Acts on one verified policy body (C4 already passed): reports it received, honours the schedule
 * (available, mandatory at, expiry) and the rerun rule, downloads and verifies its content (C5),
 * runs the program and reports the outcome. Run records are written before the program starts,
 * so a killed agent never runs a "never rerun" program twice.
 */
export async function processDeployment(
  body: PolicyBodyPayload,
  context: DeploymentContext,
  now: Date,
): Promise<void> {
  const records = await readRunRecords(context.runsPath);
  const key = body.deploymentId;
  if (records.received[key] !== body.version) {
    await context.report('policy-received', body, [body.program.name]);
    records.received[key] = body.version;
    await writeRunRecords(context.runsPath, records);
  }
  const schedule = body.schedule;
  if (Date.parse(schedule.availableAt) > now.getTime()) return;
  if (schedule.expiresAt !== null && Date.parse(schedule.expiresAt) <= now.getTime()) {
    if (!records.expiredReported.includes(key)) {
      await context.report('deployment-expired', body);
      records.expiredReported.push(key);
      await writeRunRecords(context.runsPath, records);
    }
    return;
  }
  if (schedule.mandatoryAt === null || Date.parse(schedule.mandatoryAt) > now.getTime()) return;
  if (!mayRun(body.rerun, records.records[key], body.version)) return;

  let packageDir: string;
  try {
    const content = await downloadContent(
      body,
      {
        siteKeys: context.siteKeys,
        cache: context.cache,
        inUse: context.inUse,
        now,
        tls: context.tls,
        preferredContentUrls: context.preferredContentUrls,
      },
      { onStart: () => context.report('download-started', body) },
    );
    packageDir = content.dir;
    if (content.downloaded)
      await context.report('download-completed', body, [String(content.manifest.totalSize)]);
  } catch (error) {
    await context.report(statusForContentError(error), body, [describe(error)]);
    context.log(`deployment ${key}: content refused or unavailable: ${describe(error)}`);
    return;
  }

  await startRecord(context.runsPath, records, body, now);
  await context.report('program-started', body, [body.program.commandLine]);
  await context.flush();
  const result = await runProgram(body.program, packageDir, {
    agentDir: context.agentDir,
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  const finished = await readRunRecords(context.runsPath);
  const record = finished.records[key];
  if (record !== undefined) {
    record.state = result.outcome === 'not-started' ? 'failed' : result.outcome;
    record.exitCode = result.exitCode;
    record.finishedAt = new Date().toISOString();
    await writeRunRecords(context.runsPath, finished);
  }
  const outcome: StatusName =
    result.outcome === 'succeeded'
      ? 'program-succeeded'
      : result.outcome === 'timed-out'
        ? 'program-timed-out'
        : result.outcome === 'not-started'
          ? 'program-not-started'
          : 'program-failed';
  await context.report(
    outcome,
    body,
    [String(result.exitCode ?? result.signal ?? ''), String(result.durationMs)],
    {
      exitCode: result.exitCode,
      outputTail: result.outputTail,
    },
  );
}

async function startRecord(
  path: string,
  records: RunRecords,
  body: PolicyBodyPayload,
  now: Date,
): Promise<void> {
  const previous = records.records[body.deploymentId];
  records.records[body.deploymentId] = {
    deploymentId: body.deploymentId,
    policyVersion: body.version,
    state: 'running',
    exitCode: null,
    startedAt: now.toISOString(),
    finishedAt: null,
    runs: (previous?.runs ?? 0) + 1,
  };
  await writeRunRecords(path, records);
}

/**
 * Runs interrupted by a killed agent are reported failed and never started again automatically
 * (the rerun rule decides only for a newer policy version).
 */
export async function settleInterruptedRuns(
  runsPath: string,
  report: (deploymentId: string, policyVersion: number) => Promise<void>,
): Promise<number> {
  const records = await readRunRecords(runsPath);
  let count = 0;
  for (const record of Object.values(records.records)) {
    if (record.state !== 'running') continue;
    record.state = 'interrupted';
    record.finishedAt = new Date().toISOString();
    await report(record.deploymentId, record.policyVersion);
    count += 1;
  }
  if (count > 0) await writeRunRecords(runsPath, records);
  return count;
}

function statusForContentError(error: unknown): StatusName {
  if (error instanceof CacheFullError) return 'cache-full';
  // A manifest whose hash differs from the body's is refused as a manifest, not as content.
  if (isManifestRefusal(error)) return 'manifest-refused';
  if (!isStewardError(error)) return 'download-failed';
  switch (error.code) {
    case 'ERR_HASH_MISMATCH':
    case 'ERR_CONTENT_SIZE':
      return 'hash-mismatch';
    case 'ERR_SIGNATURE_INVALID':
    case 'ERR_UNKNOWN_KEY':
    case 'ERR_THRESHOLD_NOT_MET':
    case 'ERR_PAYLOAD_INVALID':
    case 'ERR_EXPIRED':
    case 'ERR_ENVELOPE_INVALID':
      return 'manifest-refused';
    default:
      return 'download-failed';
  }
}

export function describe(error: unknown): string {
  return isStewardError(error)
    ? `${error.code}: ${error.message}`
    : error instanceof Error
      ? error.message
      : String(error);
}
