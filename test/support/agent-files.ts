/**
 * What an agent left on disk, read the way an administrator would inspect it (docs/agent.md): the
 * durable report queue (signed client-report envelopes, decoded here), the run records, the
 * content cache. And a fast in-process enrolment (the real enrolAgent over a real socket, with a
 * low key-file cost) for tests that need many agents.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { enrollAgent, type EnrollResult } from '../../src/agent/enroll.js';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import type { StatusMessage } from '../../src/protocol/index.js';
import {
  envelopePayloadBytes,
  fingerprintOf,
  parseEnvelope,
  parsePayload,
  type ClientReportPayload,
} from '../../src/trust/index.js';

/** Key-file cost for tests only (site-fixture.ts uses the same): scrypt at full cost takes a while. */
const testKeyFileCost = { N: 1024, r: 8, p: 1 } as const;

/** The reports waiting in an agent's queue, oldest first, with their payloads decoded. */
export async function queuedReports(dataDir: string): Promise<ClientReportPayload[]> {
  const dir = agentLayout(dataDir).queue;
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(
    names.map(async (name) => {
      const envelope = parseEnvelope(await readFile(join(dir, name), 'utf8'));
      return parsePayload('client-report', envelopePayloadBytes(envelope));
    }),
  );
}

/** The status messages in an agent's queue, oldest first. */
export async function queuedStatus(dataDir: string): Promise<(StatusMessage & { messageId: string })[]> {
  return (await queuedReports(dataDir))
    .filter((r) => r.reportType === 'status')
    .flatMap((r) =>
      (r.body as { messages: StatusMessage[] }).messages.map((m) => ({ ...m, messageId: r.messageId })),
    );
}

/** Package versions the agent's cache marks complete (verified against their manifest, C5). */
export async function completeCacheEntries(dataDir: string): Promise<string[]> {
  const cache = agentLayout(dataDir).cache;
  const found: string[] = [];
  for (const packageId of await readdir(cache).catch(() => [] as string[])) {
    for (const version of await readdir(join(cache, packageId)).catch(() => [] as string[])) {
      if (await exists(join(cache, packageId, version, 'complete'))) found.push(`${packageId}/${version}`);
    }
  }
  return found;
}

/** Every file under the agent's cache folder for one package version, relative to it. */
export async function cachedFiles(dataDir: string, packageId: string, version: string): Promise<string[]> {
  const dir = join(agentLayout(dataDir).cache, packageId, version);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

export interface RunRecordView {
  state: string;
  runs: number;
  exitCode: number | null;
  policyVersion: number;
}

/** state/runs.json: what ran, per deployment. */
export async function runRecords(dataDir: string): Promise<Record<string, RunRecordView>> {
  try {
    const parsed = JSON.parse(await readFile(agentLayout(dataDir).runs, 'utf8')) as {
      records: Record<string, RunRecordView>;
    };
    return parsed.records;
  } catch {
    return {};
  }
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Enrols an agent in-process against `mpUrl` with the root pinned, at a test key-file cost. */
export async function enrollTestAgent(
  dataDir: string,
  mpUrl: string,
  rootKeyId: string | null,
  options: { mode?: 'secure' | 'trust-on-first-use'; token?: string | null; hostname?: string } = {},
): Promise<EnrollResult> {
  return enrollAgent({
    dataDir,
    mpUrl,
    rootPin: rootKeyId === null ? null : fingerprintOf(rootKeyId),
    mode: options.mode ?? 'secure',
    token: options.token ?? null,
    hostname: options.hostname ?? 'test-agent',
    keyFileCost: testKeyFileCost,
    now: new Date(),
  });
}
