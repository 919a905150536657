/**
 * `npx tsx bench/scale-out-polls.ts [SECONDS] [CONNECTIONS]`: unchanged-policy polls per second
 * against management points on their own hosts (docs/scale-out.md, "Measured figures"). It builds
 * the layout of the scale-out test on loopback (PostgreSQL primary and pg_basebackup standby from
 * the Debian binaries, a site server with its embedded roles off, two `steward mp start` processes
 * reading the replica), enrols one real agent, and loads the agent's policy URL with its ETag
 * (304 from the MP's memory): first one MP alone, then both MPs at once (one load generator each),
 * each beside minimal node:http servers answering the same bytes, measured before and after it.
 * Prints one JSON line per figure. Everything it starts is stopped by PID at the end.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { managementPointPaths } from '../src/protocol/index.js';
import { createPrivateCluster } from '../test/support/private-postgres.js';
import { createStreamingReplica } from '../test/support/private-replica.js';
import { freePort } from '../test/support/site-process.js';
import { createSiteProcessWith } from '../test/support/site-process-options.js';
import {
  runSteward,
  runStewardJson,
  startSteward,
  stopAllStewardProcesses,
  waitUntil,
} from '../test/support/steward-process.js';
import { loadTest } from './baselines/load.js';
import { startScript, waitListening, type StartedChild } from './harness/children.js';

const seconds = Number(process.argv[2] ?? '10');
const connections = Number(process.argv[3] ?? '32');
const baselineServers: StartedChild[] = [];
const dir = await mkdtemp(join(tmpdir(), 'steward-scale-bench-'));
const primary = await createPrivateCluster();
let replica: Awaited<ReturnType<typeof createStreamingReplica>> | undefined;
try {
  await primary.query('create database steward_bench');
  const site = await createSiteProcessWith('SOB', {
    database: primary.url('steward_bench'),
    env: { STEWARD_SITE_EMBEDDED_ROLES: 'off' },
  });
  replica = await createStreamingReplica(primary);
  const mpUrls: string[] = [];
  for (const name of ['SOB-MP2', 'SOB-MP3']) {
    const { token } = await runStewardJson<{ token: string }>([
      'site',
      'system-token',
      '--data',
      site.dataDir,
      '--role',
      'mp',
    ]);
    const url = `http://127.0.0.1:${await freePort()}`;
    const dataDir = join(dir, name);
    await runStewardJson([
      'mp',
      'install',
      '--data',
      dataDir,
      '--token',
      token,
      '--name',
      name,
      '--url',
      url,
    ]);
    startSteward([
      'mp',
      'start',
      '--data',
      dataDir,
      '--database',
      primary.url('steward_bench'),
      '--replica',
      replica.url('steward_bench'),
    ]);
    await waitUntil(
      async () => (await fetch(`${url}/health`).catch(() => undefined))?.ok === true,
      `${name} to start`,
    );
    mpUrls.push(url);
  }
  const agentDir = join(dir, 'agent');
  const enrolled = await runStewardJson<{ clientId: string }>([
    'agent',
    'enroll',
    '--data',
    agentDir,
    '--mp',
    mpUrls[0] ?? '',
    '--root-key',
    site.init.rootFingerprint,
    '--token',
    site.init.enrolmentToken,
    '--hostname',
    'bench-agent',
  ]);
  await runSteward(['agent', 'run', '--data', agentDir, '--once', '--json']);
  const targets = await Promise.all(
    mpUrls.map(async (url) => {
      const policyUrl = `${url}${managementPointPaths.policy(enrolled.clientId)}`;
      const answer = await fetch(policyUrl);
      const body = Buffer.from(await answer.arrayBuffer());
      return { url: policyUrl, etag: answer.headers.get('etag') ?? '', body };
    }),
  );
  // The baseline of the same run: minimal node:http servers answering the same bytes and ETag
  // from memory (bench/baselines/static-http-server.ts), one per MP, measured before and after.
  const baselines: { url: string; etag: string }[] = [];
  for (const [index, target] of targets.entries()) {
    const bodyFile = join(dir, `policy-${index}.json`);
    await writeFile(bodyFile, target.body);
    const port = await freePort();
    const server = startScript(
      join(import.meta.dirname, 'baselines/static-http-server.ts'),
      [String(port), bodyFile, target.etag],
      join(dir, `node-baseline-${index}.log`),
    );
    baselineServers.push(server);
    await waitListening(server);
    baselines.push({ url: `http://127.0.0.1:${port}/`, etag: target.etag });
  }
  const load = (target: { url: string; etag: string }) =>
    loadTest({ url: target.url, connections, seconds, headers: { 'if-none-match': target.etag } });
  const first = targets[0];
  const firstBaseline = baselines[0];
  if (first === undefined || firstBaseline === undefined) throw new Error('no MP');
  const sum = (results: readonly { requestsPerSecond: number }[]) =>
    results.reduce((total, result) => total + result.requestsPerSecond, 0);
  const baseBefore = await load(firstBaseline);
  const one = await load(first);
  const baseAfter = await load(firstBaseline);
  const baseOne = (baseBefore.requestsPerSecond + baseAfter.requestsPerSecond) / 2;
  process.stdout.write(
    `${JSON.stringify({ figure: 'policy polls/s, one standalone MP (304)', connections, ...one, baseline: { name: 'node:http, same bytes from memory (mean of before and after)', requestsPerSecond: baseOne, before: baseBefore, after: baseAfter }, ratio: one.requestsPerSecond / baseOne })}\n`,
  );
  const bothBaseBefore = await Promise.all(baselines.map(load));
  const both = await Promise.all(targets.map(load));
  const bothBaseAfter = await Promise.all(baselines.map(load));
  const total = sum(both);
  const baseTotal = (sum(bothBaseBefore) + sum(bothBaseAfter)) / 2;
  process.stdout.write(
    `${JSON.stringify({ figure: 'policy polls/s, two standalone MPs at once (304)', connections, seconds, total, each: both, baseline: { name: 'two node:http servers at once, same bytes (mean of before and after)', total: baseTotal, before: sum(bothBaseBefore), after: sum(bothBaseAfter) }, ratio: total / baseTotal })}\n`,
  );
} finally {
  for (const server of baselineServers) await server.stop();
  await stopAllStewardProcesses();
  await replica?.destroy();
  await primary.destroy();
  await rm(dir, { recursive: true, force: true });
}
