/**
 * Issue 10, end to end with real processes (docs/scale-out.md): a PostgreSQL primary and a
 * streaming replica made with pg_basebackup (private clusters this test starts and stops by
 * pg_ctl), a site server with its embedded roles off, two management points on their own
 * (`steward mp start`) reading the replica, one distribution point (`steward dp start`), and a real
 * agent. Each site system was installed with a one-time token and holds its own keys.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentLayout } from '../../src/agent/state/agent-layout.js';
import { managementPointPaths, statusByName } from '../../src/protocol/index.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { envelopePayloadBytes, parseEnvelope, parsePayload } from '../../src/trust/index.js';
import { runAgentOnce } from '../support/agent-runs.js';
import {
  createPrivateCluster,
  privateClusterSkipReason,
  type PrivateCluster,
} from '../support/private-postgres.js';
import {
  createStreamingReplica,
  replicaSkipReason,
  type PrivateReplica,
} from '../support/private-replica.js';
import { deployFiles, freePort, siteStatusMessages } from '../support/site-process.js';
import { createSiteProcessWith, type KillableSiteProcess } from '../support/site-process-options.js';
import {
  runSteward,
  runStewardJson,
  startSteward,
  stopAllStewardProcesses,
  waitUntil,
  type StewardProcess,
} from '../support/steward-process.js';

const skip = privateClusterSkipReason() ?? replicaSkipReason();
const siteCode = 'SCO';
let dir: string;
let primary: PrivateCluster;
let replica: PrivateReplica;
let site: KillableSiteProcess;

interface SiteSystemProcess {
  name: string;
  dataDir: string;
  url: string;
  args: string[];
  process: StewardProcess | null;
}
const mps: SiteSystemProcess[] = [];
let dp: SiteSystemProcess;

async function systemToken(role: 'mp' | 'dp'): Promise<string> {
  const issued = await runStewardJson<{ token: string }>([
    'site',
    'system-token',
    '--data',
    site.dataDir,
    '--role',
    role,
  ]);
  return issued.token;
}

async function install(role: 'mp' | 'dp', name: string, token: string): Promise<SiteSystemProcess> {
  const dataDir = join(dir, name);
  const url = `http://127.0.0.1:${await freePort()}`;
  const installed = await runStewardJson<{ name: string; siteCode: string; keyFingerprint: string }>([
    role,
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
  expect(installed).toMatchObject({ name, siteCode });
  const args =
    role === 'mp'
      ? [
          'mp',
          'start',
          '--data',
          dataDir,
          '--database',
          primary.url('steward_scale'),
          '--replica',
          replica.url('steward_scale'),
          '--feed-interval',
          '0.5',
        ]
      : ['dp', 'start', '--data', dataDir, '--sync-interval', '1'];
  return { name, dataDir, url, args, process: null };
}

async function start(system: SiteSystemProcess): Promise<void> {
  const started = startSteward(system.args);
  system.process = started;
  await waitUntil(async () => {
    if (!started.running()) throw new Error(`${system.name} exited: ${started.stderr()}`);
    return (await fetch(`${system.url}/health`).catch(() => undefined))?.ok === true;
  }, `${system.name} to answer /health`);
}

async function deploymentSummary(deploymentId: string) {
  return (
    await site.api<{ summary: { succeeded: number; failed: number } }>('GET', `/deployments/${deploymentId}`)
  ).summary;
}

/** The sequence of the assignment list the agent holds. */
async function heldSequence(agentDir: string): Promise<number> {
  const { envelope } = JSON.parse(await readFile(`${agentLayout(agentDir).policy}.assignments`, 'utf8')) as {
    envelope: string;
  };
  return parsePayload('policy-assignments', envelopePayloadBytes(parseEnvelope(envelope))).sequence;
}

async function enrol(hostname: string, mpUrl: string): Promise<{ dataDir: string; clientId: string }> {
  const dataDir = join(dir, hostname);
  const enrolled = await runStewardJson<{ clientId: string; state: string }>([
    'agent',
    'enroll',
    '--data',
    dataDir,
    '--mp',
    mpUrl,
    '--root-key',
    site.init.rootFingerprint,
    '--mode',
    'secure',
    '--token',
    site.init.enrolmentToken,
    '--hostname',
    hostname,
  ]);
  expect(enrolled.state).toBe('approved');
  return { dataDir, clientId: enrolled.clientId };
}

let agent: { dataDir: string; clientId: string };
let deploymentId: string;

beforeAll(async () => {
  if (skip !== undefined) return;
  dir = await mkdtemp(join(tmpdir(), 'steward-scale-out-'));
  primary = await createPrivateCluster();
  await primary.query('create database steward_scale');
  site = await createSiteProcessWith(siteCode, {
    database: primary.url('steward_scale'),
    env: { STEWARD_SITE_EMBEDDED_ROLES: 'off' },
  });
  replica = await createStreamingReplica(primary);
  const tokens = [await systemToken('mp'), await systemToken('mp'), await systemToken('dp')];
  mps.push(await install('mp', 'SCO-MP2', tokens[0] ?? ''));
  mps.push(await install('mp', 'SCO-MP3', tokens[1] ?? ''));
  dp = await install('dp', 'SCO-DP2', tokens[2] ?? '');
  for (const system of [...mps, dp]) await start(system);
}, 240_000);

afterAll(async () => {
  if (skip !== undefined) return;
  await stopAllStewardProcesses();
  // Each may be missing when beforeAll failed half way.
  await (replica as PrivateReplica | undefined)?.destroy();
  await (primary as PrivateCluster | undefined)?.destroy();
  if ((dir as string | undefined) !== undefined) await rm(dir, { recursive: true, force: true });
}, 120_000);

describe.skipIf(skip !== undefined)('site systems on their own hosts', { timeout: 180_000 }, () => {
  it('the site server with its embedded roles off serves no client traffic and knows its three site systems', async () => {
    expect((await fetch(`${site.url}${managementPointPaths.trust}`)).status).toBe(404);
    const rows = await primary.query(
      `select name, role, embedded, key_id from site_systems order by name`,
      'steward_scale',
    );
    expect(
      rows.rows.map((r: { name: string; role: string; embedded: boolean }) => [r.name, r.role, r.embedded]),
    ).toEqual([
      ['SCO-DP2', 'distribution-point', false],
      ['SCO-MP2', 'management-point', false],
      ['SCO-MP3', 'management-point', false],
    ]);
    // Each MP has its own key, certified by the root: none is the site's.
    const keys = new Set(rows.rows.map((r: { key_id: string }) => r.key_id));
    expect(keys.size).toBe(3);
  });

  it('an agent enrolled at one MP learns the other, and a deployment reaches it through the MPs and the DP', async () => {
    agent = await enrol('scale-agent-1', mps[0]?.url ?? '');
    const config = JSON.parse(await readFile(agentLayout(agent.dataDir).config, 'utf8')) as {
      managementPoints: string[];
    };
    expect(config.managementPoints).toEqual([mps[0]?.url, mps[1]?.url]);
    ({ deploymentId } = await deployFiles(site, {
      name: 'scale-package',
      files: { 'install.sh': 'echo installed > "$STEWARD_AGENT_DATA/../scale-marker" 2>/dev/null; exit 0\n' },
      commandLine: 'sh install.sh',
      clientIds: [agent.clientId],
    }));
    // The DP pulls the version from the site, verifies it and reports it present.
    await waitUntil(async () => {
      const state = await primary.query(
        `select state from site_system_content where system_id = 'SCO-distribution-point-SCO-DP2'`,
        'steward_scale',
      );
      return state.rows.some((r: { state: string }) => r.state === 'present') ? true : undefined;
    }, 'the distribution point to hold the package');
    await waitUntil(async () => {
      const run = await runAgentOnce(agent.dataDir);
      expect(run.cycle.managementPoint).toBe(mps[0]?.url);
      return (await deploymentSummary(deploymentId)).succeeded === 1 ? true : undefined;
    }, 'the deployment to succeed through the standalone MP and DP');
    const messages = await siteStatusMessages(site, { clientId: agent.clientId, deploymentId });
    expect(messages.map((m) => m.status_id)).toContain(statusByName('program-succeeded').id);
    // The site knows its systems, their certificates and health (`steward site status`).
    const status = await site.api<{
      siteSystems: {
        name: string;
        health: string;
        certificateExpiresAt: string | null;
        content: { present: number } | null;
      }[];
    }>('GET', '/site');
    expect(status.siteSystems.map((s) => [s.name, s.health, s.certificateExpiresAt !== null])).toEqual([
      ['SCO-DP2', 'ok', false],
      ['SCO-MP2', 'ok', true],
      ['SCO-MP3', 'ok', true],
    ]);
    expect(status.siteSystems[0]?.content?.present).toBe(1);
  });

  it('one MP killed: the agent fails over to the other and keeps the very same signed list', async () => {
    const before = await heldSequence(agent.dataDir);
    await mps[0]?.process?.stop('SIGKILL');
    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle.managementPoint).toBe(mps[1]?.url);
    expect(run.cycle.errors).toEqual([]);
    expect(run.cycle.assignments).toBe(1);
    expect(run.cycle.reportsQueued).toBe(0);
    // Served as stored (signed by MP2, accepted from MP3: C3 with the site's certified MPs).
    expect(await heldSequence(agent.dataDir)).toBe(before);
    await start(mps[0] as SiteSystemProcess);
  });

  it('replica lag: a client that just registered on the primary is not refused while the replica has not replayed it', async () => {
    await replica.query('select pg_wal_replay_pause()');
    try {
      const fresh = await enrol('scale-agent-lag', mps[1]?.url ?? '');
      const seen = await replica.query(
        `select count(*)::int as n from clients where id = '${fresh.clientId}'`,
        'steward_scale',
      );
      expect(seen.rows[0]).toEqual({ n: 0 });
      const run = await runAgentOnce(fresh.dataDir);
      expect(run.cycle.errors).toEqual([]);
      expect(run.cycle.managementPoint).toBe(mps[1]?.url);
    } finally {
      await replica.query('select pg_wal_replay_resume()');
    }
  });

  it('the site server stopped: the MPs keep serving the unchanged list and take reports; nothing is lost', async () => {
    const before = await heldSequence(agent.dataDir);
    await site.stop();
    try {
      const run = await runAgentOnce(agent.dataDir);
      expect(run.cycle.errors).toEqual([]);
      expect(run.cycle.assignments).toBe(1);
      expect(run.cycle.reportsQueued).toBe(0);
      expect(await heldSequence(agent.dataDir)).toBe(before);
    } finally {
      await site.start();
    }
  });

  it('the primary stopped: policy still served, writes refused as retryable and kept queued; the primary restarted, all recovers', async () => {
    const beforeCount = (
      await primary.query(
        `select count(*)::int as n from report_inbox where client_id = '${agent.clientId}' and processed_at is not null`,
        'steward_scale',
      )
    ).rows[0] as { n: number };
    await primary.stop();
    try {
      // A registration is a write: refused as retryable while the primary is away.
      const refused = await runSteward([
        'agent',
        'enroll',
        '--data',
        join(dir, 'scale-agent-down'),
        '--mp',
        mps[1]?.url ?? '',
        '--root-key',
        site.init.rootFingerprint,
        '--token',
        site.init.enrolmentToken,
        '--json',
      ]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/ERR_DATABASE/);
      // Policy is still served (the replica, or the MP's cache); the heartbeat stays queued.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const run = await runAgentOnce(agent.dataDir, ['--heartbeat-interval', '1']);
      expect(run.cycle.managementPoint).not.toBeNull();
      expect(run.cycle.assignments).toBe(1);
      expect(run.cycle.reportsQueued).toBeGreaterThan(0);
    } finally {
      await primary.start();
    }
    // No operator action: the same MP, DP and site processes carry on.
    await waitUntil(async () => {
      const run = await runAgentOnce(agent.dataDir);
      return run.cycle.reportsQueued === 0 && run.cycle.errors.length === 0 ? true : undefined;
    }, 'the agent to deliver its queued reports');
    await waitUntil(async () => {
      const after = (
        await primary.query(
          `select count(*)::int as n from report_inbox where client_id = '${agent.clientId}' and processed_at is not null`,
          'steward_scale',
        )
      ).rows[0] as { n: number };
      return after.n > beforeCount.n ? true : undefined;
    }, 'the site to apply the reports the agent kept');
    for (const system of [...mps, dp]) expect(system.process?.running()).toBe(true);
  });

  it('an MP installed with a used token is refused (ERR_SITE_SYSTEM_TOKEN_USED), and with a forged one (ERR_SITE_SYSTEM_TOKEN_INVALID)', async () => {
    const token = await systemToken('mp');
    const first = await install('mp', 'SCO-MP4', token);
    const again = await runSteward([
      'mp',
      'install',
      '--data',
      join(dir, 'reuse'),
      '--token',
      token,
      '--name',
      'SCO-MP5',
      '--url',
      first.url,
      '--json',
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/ERR_SITE_SYSTEM_TOKEN_USED/);
    const fresh = await systemToken('mp');
    const payload = JSON.parse(Buffer.from(fresh.slice('sst1.'.length), 'base64url').toString('utf8')) as {
      secret: string;
    };
    const forged = `sst1.${Buffer.from(JSON.stringify({ ...payload, secret: 'A'.repeat(43) })).toString('base64url')}`;
    const refused = await runSteward([
      'mp',
      'install',
      '--data',
      join(dir, 'forged'),
      '--token',
      forged,
      '--name',
      'SCO-MP6',
      '--url',
      first.url,
      '--json',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ERR_SITE_SYSTEM_TOKEN_INVALID/);
    const names = await primary.query(
      `select name from site_systems where name in ('SCO-MP5', 'SCO-MP6')`,
      'steward_scale',
    );
    expect(names.rows).toEqual([]);
  });

  it('C5 at the DP: a version changed in the site library is not taken (ERR_HASH_MISMATCH); the DP reports it failed and serves nothing of it', async () => {
    await dp.process?.stop('SIGTERM');
    const { packageId } = await deployFiles(site, {
      name: 'tampered-package',
      files: { 'install.sh': 'exit 0\n' },
      commandLine: 'sh install.sh',
      clientIds: [agent.clientId],
    });
    await writeFile(
      join(siteDataLayout(site.dataDir).content, packageId, '1.0', 'files', 'install.sh'),
      'exit 1\n',
    );
    await start(dp);
    const state = await waitUntil(async () => {
      const rows = await primary.query(
        `select state, detail from site_system_content where system_id = 'SCO-distribution-point-SCO-DP2' and package_id = '${packageId}'`,
        'steward_scale',
      );
      return (rows.rows as { state: string; detail: string }[]).find((r) => r.state !== 'pending');
    }, 'the distribution point to report the tampered version');
    expect(state.state).toBe('failed');
    expect(state.detail).toMatch(/^ERR_HASH_MISMATCH: /);
    expect((await fetch(`${dp.url}/dp/v1/packages/${packageId}/1.0/manifest`)).status).toBe(404);
  });

  it('rotate-root with the embedded roles off: the MPs on their own hosts serve certificates from the new root (C2) and the agent follows it (C1)', async () => {
    await site.stop();
    const rotated = await runStewardJson<{ version: number; mpCertificates: { name: string }[] }>([
      'trust',
      'rotate-root',
      '--data',
      site.dataDir,
    ]);
    expect(rotated.version).toBe(2);
    // The embedded MP's certificate too: it serves again when the embedded roles are turned on.
    expect(rotated.mpCertificates.map((c) => c.name)).toEqual(
      expect.arrayContaining(['SCO-MP1', 'SCO-MP2', 'SCO-MP3']),
    );
    await site.start();
    // Each MP reads the site's root chain and its own new certificate at its next refresh (30 s).
    for (const mp of mps) {
      await waitUntil(
        async () => {
          const bundle = (await (await fetch(`${mp.url}${managementPointPaths.trust}`)).json()) as {
            rootChain: string[];
            mpCertificate: string;
          };
          const signer = parseEnvelope(bundle.mpCertificate).signatures[0]?.keyid;
          return bundle.rootChain.length === 2 && signer !== site.init.rootKeyId ? true : undefined;
        },
        `${mp.name} to serve the new root and its new certificate`,
        90_000,
        1000,
      );
    }
    const run = await runAgentOnce(agent.dataDir);
    expect(run.cycle.errors).toEqual([]);
    expect(run.cycle.assignments).toBeGreaterThan(0);
    const trust = JSON.parse(await readFile(agentLayout(agent.dataDir).trust, 'utf8')) as { chain: string[] };
    expect(
      trust.chain.map(
        (encoded) => parsePayload('root', envelopePayloadBytes(parseEnvelope(encoded))).version,
      ),
    ).toEqual([1, 2]);
  });
});
