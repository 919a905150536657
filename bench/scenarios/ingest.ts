import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { statusReport } from '../../src/agent/reports/status-report.js';
import { ManagementPointClient } from '../../src/agent/transport/management-point-client.js';
import { protocolLimits, statusByName, type StatusName } from '../../src/protocol/index.js';
import { databaseLocation } from '../../src/site/database/open.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { signDocument } from '../../src/trust/index.js';
import { agentIdentity, type AgentIdentity } from '../agent-sim/identity.js';
import type { RawRow } from '../baselines/raw-insert.js';
import { runToEnd } from '../harness/children.js';
import type { RunContext } from '../harness/context.js';
import { mean } from '../harness/stats.js';
import { sleep } from '../harness/timing.js';
import { measureReportCosts } from '../profile/report-costs.js';
import { monotonicUs } from '../profile/summarise-profile.js';
import { createBenchSite, startBenchSite, waitForQuietSite } from '../site/bench-site.js';
import { createBenchDatabase, type BenchDatabase } from '../site/postgres.js';
import { clientRowOf, seedClients } from '../site/seed-clients.js';
import {
  createDirectCollection,
  createMandatoryDeployment,
  deploymentSummary,
  importPackage,
} from '../site/site-setup.js';
import type { Scenario } from './scenario.js';

const name = 'ingest';
const lifecycle: readonly StatusName[] = [
  'policy-received',
  'download-started',
  'download-completed',
  'program-started',
  'program-succeeded',
];

/**
 * Status messages committed per second: clients report the five status messages of a deployment
 * (one signed report each, as the agent sends them), posted 100 reports per request by 4
 * concurrent senders. The MP verifies and commits each batch to the inbox before acknowledging it;
 * the figure counts until the inbox processor has committed every message to status_messages and
 * the deployment summary. The baseline inserts the same status_messages rows into the same
 * database from a plain script, before and after the site's run.
 */
export const ingest: Scenario = {
  name,
  summary: 'status messages committed per second vs raw INSERT, on PGlite and PostgreSQL',
  async run(context: RunContext) {
    await ingestOn(context, 'pglite');
    const database = await createBenchDatabase('ingest');
    if (database === undefined) {
      context.figure({
        scenario: name,
        name: 'status messages committed per second (PostgreSQL)',
        value: null,
        unit: 'msg/s',
        note: 'no PostgreSQL at 127.0.0.1:5432',
      });
      return;
    }
    try {
      await ingestOn(context, 'postgres', database);
    } finally {
      await database.drop();
    }
    const costs = measureReportCosts(context.seed, context.quick ? 200 : 1000);
    context.note(
      name,
      `CPU per status report in this process (the MP's steps in report-intake.ts): JSON.parse ${costs.jsonParseUs.toFixed(1)} µs, ` +
        `parseEnvelope ${costs.parseEnvelopeUs.toFixed(1)} µs, publicKeyFromRecord ${costs.publicKeyUs.toFixed(1)} µs, ` +
        `Ed25519 verify ${costs.verifyUs.toFixed(1)} µs, verifyClientReport ${costs.verifyClientReportUs.toFixed(1)} µs.`,
    );
  },
};

async function ingestOn(
  context: RunContext,
  kind: 'pglite' | 'postgres',
  database?: BenchDatabase,
): Promise<void> {
  const label = kind === 'pglite' ? 'PGlite' : 'PostgreSQL';
  const clientsCount = context.quick ? 100 : 4000;
  const dir = await context.workFolder(`ingest-${kind}`);
  const folder = await createBenchSite(context, dir, { database: database?.url ?? null });
  const location = databaseLocation(database?.url, siteDataLayout(folder.dataDir).database);
  const identities = Array.from({ length: clientsCount }, (_, i) => agentIdentity(context.seed, 200_000 + i));
  await seedClients(
    location,
    folder.init.siteCode,
    identities.map((identity) => ({ client: clientRowOf(identity), facts: {} })),
  );

  const siteCode = folder.init.siteCode;
  const rowsFile = join(dir, 'rows.jsonl');
  const rawRun = async (prefix: string) => {
    const script = join(import.meta.dirname, '../baselines/raw-insert.ts');
    const options = {
      kind,
      target:
        kind === 'pglite' ? (location.kind === 'pglite' ? location.dataDir : '') : (database?.url ?? ''),
      rowsFile,
      prefix,
    };
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

  const site = await startBenchSite(context, folder, name, `ingest-${kind}`);
  let deploymentId: string;
  let reports: { encoded: string }[][];
  try {
    const pkg = await importPackage(site, join(dir, 'package'), {
      name: 'ingest-package',
      seed: context.seed,
      files: [{ path: 'install.sh', bytes: 1024 }],
    });
    const collection = await createDirectCollection(
      site,
      'ingest clients',
      identities.map((i) => i.clientId),
    );
    deploymentId = await createMandatoryDeployment(site, pkg.packageId, collection);
    reports = signLifecycleReports(identities, siteCode, deploymentId);
    await writeFile(
      rowsFile,
      rawRows(identities, siteCode, deploymentId)
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
  } catch (error) {
    await site.stop();
    throw error;
  }
  // The raw baseline needs the database to itself (PGlite is opened by one process at a time):
  // it runs with the site stopped, before (full runs) and after the site's run.
  let rawBefore: number | undefined;
  let restarted = site;
  if (!context.quick) {
    await site.stop();
    rawBefore = await rawRun('raw1');
    restarted = await startBenchSite(context, folder, name, `ingest-${kind}-run`);
  }
  let committedPerSecond: number;
  let ackedPerSecond: number;
  const messages = clientsCount * lifecycle.length;
  try {
    await waitForQuietSite(restarted);
    const client = new ManagementPointClient(restarted.url);
    const queue = [...reports];
    const windowStart = monotonicUs();
    const started = performance.now();
    let refused = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
          const answer = await client.sendReports(batch.map((r) => r.encoded));
          refused += answer.results.filter((r) => r.status === 'rejected').length;
        }
      }),
    );
    const ackedSeconds = (performance.now() - started) / 1000;
    if (refused > 0) throw new Error(`${refused} reports were refused`);
    for (;;) {
      const summary = await deploymentSummary(restarted, deploymentId);
      if (summary.succeeded >= clientsCount) break;
      if (performance.now() - started > 600_000)
        throw new Error(`only ${summary.succeeded} of ${clientsCount} succeeded after 600 s`);
      await sleep(50);
    }
    const committedSeconds = (performance.now() - started) / 1000;
    restarted.profileWindow(`ingest on ${label}`, windowStart, monotonicUs());
    committedPerSecond = messages / committedSeconds;
    ackedPerSecond = messages / ackedSeconds;
  } finally {
    await restarted.stop();
  }
  const rawAfter = await rawRun('raw2');
  const raw = mean(rawBefore === undefined ? [rawAfter] : [rawBefore, rawAfter]);
  context.figure({
    scenario: name,
    name: `status messages committed per second, ${label} (${messages.toLocaleString('en-US')} messages, 100 reports per request, 4 senders)`,
    value: committedPerSecond,
    unit: 'msg/s',
    baseline: {
      name: 'raw INSERT of the same rows (plain script, 500 per transaction)',
      value: raw,
      unit: 'rows/s',
    },
    budget:
      kind === 'pglite'
        ? { text: '≥ 5,000/s and ≥ 0.5 × raw', atLeast: 5000, ratioAtLeast: 0.5 }
        : { text: '≥ 10,000/s and ≥ 0.5 × raw', atLeast: 10_000, ratioAtLeast: 0.5 },
  });
  context.figure({
    scenario: name,
    name: `status messages acknowledged per second (verified and in the inbox), ${label}`,
    value: ackedPerSecond,
    unit: 'msg/s',
    baseline: { name: 'raw INSERT of the same rows', value: raw, unit: 'rows/s' },
  });
  context.note(
    name,
    `${label}: raw INSERT baseline ${rawBefore === undefined ? '' : `${rawBefore.toFixed(0)} rows/s before the site's run and `}${rawAfter.toFixed(0)} rows/s after it.`,
  );
}

/** Each client's five lifecycle reports, signed now, grouped 20 clients (100 reports) per request. */
export function signLifecycleReports(
  identities: readonly AgentIdentity[],
  siteCode: string,
  deploymentId: string,
): { encoded: string }[][] {
  const batches: { encoded: string }[][] = [];
  const perRequest = protocolLimits.maxReportsPerRequest / lifecycle.length;
  const base = Date.now();
  for (let at = 0; at < identities.length; at += perRequest) {
    const batch: { encoded: string }[] = [];
    for (const identity of identities.slice(at, at + perRequest)) {
      lifecycle.forEach((status, index) => {
        const now = new Date(base + index);
        const messageId = `${identity.clientId.slice(0, 16)}-${index + 1}-ingest`;
        const document = signDocument(
          {
            kind: 'client-report',
            sequence: index + 1,
            messageId,
            clientId: identity.clientId,
            siteCode,
            reportType: 'status',
            body: statusReport(status, { deploymentId, policyVersion: 1 }, now, [identity.hostname]),
            issuedAt: now.toISOString(),
            expiresAt: new Date(now.getTime() + protocolLimits.reportValidityMs).toISOString(),
          },
          [identity.key],
        );
        batch.push({ encoded: document.encoded });
      });
    }
    batches.push(batch);
  }
  return batches;
}

/** The status_messages rows the site writes for those reports. */
export function rawRows(
  identities: readonly AgentIdentity[],
  siteCode: string,
  deploymentId: string,
): RawRow[] {
  const base = Date.now();
  return identities.flatMap((identity) =>
    lifecycle.map((status, index) => ({
      message_id: `${identity.clientId.slice(0, 16)}-${index + 1}-ingest:0`,
      client_id: identity.clientId,
      site_code: siteCode,
      deployment_id: deploymentId,
      status_id: statusByName(status).id,
      severity: statusByName(status).severity,
      component: 'agent',
      machine: identity.hostname,
      occurred_at: new Date(base + index).toISOString(),
      insertion_strings: JSON.stringify([identity.hostname]),
    })),
  );
}
