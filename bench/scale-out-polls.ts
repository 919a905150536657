/**
 * `npx tsx bench/scale-out-polls.ts [SECONDS] [CONNECTIONS]`: unchanged-policy polls per second
 * against management points on their own hosts (docs/scale-out.md, "Measured figures"). It builds
 * the layout of the scale-out test on loopback (PostgreSQL primary and pg_basebackup standby from
 * the Debian binaries, a site server with its embedded roles off, two `steward mp start` processes
 * reading the replica), enrols one real agent, and loads the agent's policy URL with its ETag
 * (304 from the MP's memory): first one MP alone, then both MPs at once (one load generator each).
 * Prints one JSON line per figure. Everything it starts is stopped by PID at the end.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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

const seconds = Number(process.argv[2] ?? '10');
const connections = Number(process.argv[3] ?? '32');
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
      await answer.arrayBuffer();
      return { url: policyUrl, etag: answer.headers.get('etag') ?? '' };
    }),
  );
  const load = (target: { url: string; etag: string }) =>
    loadTest({ url: target.url, connections, seconds, headers: { 'if-none-match': target.etag } });
  const first = targets[0];
  if (first === undefined) throw new Error('no MP');
  const one = await load(first);
  process.stdout.write(
    `${JSON.stringify({ figure: 'policy polls/s, one standalone MP (304)', connections, ...one })}\n`,
  );
  const both = await Promise.all(targets.map(load));
  const total = both.reduce((sum, result) => sum + result.requestsPerSecond, 0);
  process.stdout.write(
    `${JSON.stringify({ figure: 'policy polls/s, two standalone MPs at once (304)', connections, seconds, total, each: both })}\n`,
  );
} finally {
  await stopAllStewardProcesses();
  await replica?.destroy();
  await primary.destroy();
  await rm(dir, { recursive: true, force: true });
}
