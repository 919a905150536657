import { copyFile, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createPrivateCluster, type PrivateCluster } from '../../test/support/private-postgres.js';
import { createStreamingReplica, type PrivateReplica } from '../../test/support/private-replica.js';
import { runToEnd, startChild, type StartedChild } from '../harness/children.js';
import type { RunContext } from '../harness/context.js';
import { freePort } from '../harness/ports.js';
import { sleep } from '../harness/timing.js';
import { summariseProfile, type ProfileWindow } from '../profile/summarise-profile.js';
import { createBenchSite, startBenchSite, stewardBin, type RunningBenchSite } from './bench-site.js';

/** A site system (`steward mp start` or `steward dp start`) running as its own process. */
export interface RunningSiteSystem {
  readonly name: string;
  readonly url: string;
  readonly child: StartedChild;
  /** With `context.profile`, where `node --cpu-prof` writes this process's profile when it stops. */
  readonly profileDir?: string;
}

/**
 * The layout of docs/scale-out.md on loopback: a private PostgreSQL primary and its
 * `pg_basebackup` standby (Debian binaries, as in test/site-systems/scale-out.test.ts), a site
 * server with its embedded roles off, two management points reading the replica, and one
 * distribution point, each its own process installed with a one-time token.
 */
export interface ScaleOutLayout {
  readonly primary: PrivateCluster;
  readonly replica: PrivateReplica;
  readonly databaseUrl: string;
  readonly site: RunningBenchSite;
  readonly mps: readonly RunningSiteSystem[];
  readonly dp: RunningSiteSystem;
  /** With `context.profile`, the site server's and MPs' profiles are summarised for this phase too. */
  profileWindow(label: string, startUs: number, endUs: number): void;
  stop(): Promise<void>;
}

const databaseName = 'steward_bench';

export async function startScaleOutLayout(
  context: RunContext,
  dir: string,
  label: string,
): Promise<ScaleOutLayout> {
  const primary = await createPrivateCluster();
  const systems: RunningSiteSystem[] = [];
  const windows: { label: string; window: ProfileWindow }[] = [];
  let replica: PrivateReplica | undefined;
  let site: RunningBenchSite | undefined;
  const stop = async () => {
    for (const system of systems) {
      await system.child.stop(30_000);
      if (system.profileDir !== undefined) await summariseSystemProfile(context, system, windows);
    }
    await site?.stop();
    await replica?.destroy();
    await primary.destroy();
  };
  try {
    await primary.query(`create database ${databaseName}`);
    const databaseUrl = primary.url(databaseName);
    const folder = await createBenchSite(context, dir, { database: databaseUrl });
    site = await startBenchSite(context, folder, 'scale-out', `${label}-site`, {
      STEWARD_SITE_EMBEDDED_ROLES: 'off',
    });
    replica = await createStreamingReplica(primary);
    const replicaUrl = replica.url(databaseName);
    const install = async (role: 'mp' | 'dp', name: string): Promise<RunningSiteSystem> => {
      const token = await stewardJson<{ token: string }>([
        'site',
        'system-token',
        '--data',
        folder.dataDir,
        '--role',
        role,
        '--json',
      ]);
      const url = `http://127.0.0.1:${await freePort()}`;
      const dataDir = join(dir, name);
      await stewardJson([
        role,
        'install',
        '--data',
        dataDir,
        '--token',
        token.token,
        '--name',
        name,
        '--url',
        url,
        '--json',
      ]);
      const args =
        role === 'mp'
          ? ['mp', 'start', '--data', dataDir, '--database', databaseUrl, '--replica', replicaUrl]
          : ['dp', 'start', '--data', dataDir, '--sync-interval', '1'];
      const profileDir =
        context.profile && role === 'mp' ? await context.workFolder(`profile-${label}-${name}`) : undefined;
      const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
      const child = startChild(
        process.execPath,
        [...nodeArgs, stewardBin, ...args],
        join(dir, `${name}.log`),
      );
      const system = { name, url, child, ...(profileDir === undefined ? {} : { profileDir }) };
      systems.push(system);
      await waitForHealth(url, name);
      return system;
    };
    const mps = [await install('mp', 'BEN-MP2'), await install('mp', 'BEN-MP3')];
    const dp = await install('dp', 'BEN-DP2');
    const profileWindow = (windowLabel: string, startUs: number, endUs: number) => {
      windows.push({ label: windowLabel, window: { startUs, endUs } });
      site?.profileWindow(windowLabel, startUs, endUs);
    };
    return { primary, replica, databaseUrl, site, mps, dp, profileWindow, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Waits until the distribution point reports `count` package versions present at the site. */
export async function waitForContentPresent(
  layout: ScaleOutLayout,
  count: number,
  timeoutMs = 120_000,
): Promise<void> {
  const started = Date.now();
  for (;;) {
    const rows = await layout.primary.query(
      `select count(*)::int as n from site_system_content where state = 'present'`,
      databaseName,
    );
    if (((rows.rows[0] as { n: number } | undefined)?.n ?? 0) >= count) return;
    if (Date.now() - started > timeoutMs) throw new Error('the distribution point did not get the package');
    await sleep(250);
  }
}

async function summariseSystemProfile(
  context: RunContext,
  system: RunningSiteSystem,
  windows: readonly { label: string; window: ProfileWindow }[],
): Promise<void> {
  const files = (await readdir(system.profileDir ?? '')).filter((f) => f.endsWith('.cpuprofile'));
  for (const file of files) {
    const kept = context.artifact(`scale-out-${system.name}.cpuprofile`);
    await copyFile(join(system.profileDir ?? '', file), kept);
    for (const { label, window } of windows) {
      const summary = await summariseProfile(kept, 15, window);
      context.note(
        'scale-out',
        `CPU profile of ${system.name} during ${label} (${basename(kept)}):\n\n${summary}`,
      );
    }
  }
}

async function stewardJson<T>(args: readonly string[]): Promise<T> {
  const result = await runToEnd(process.execPath, [stewardBin, ...args], { timeoutMs: 120_000 });
  if (result.code !== 0)
    throw new Error(`steward ${args.slice(0, 2).join(' ')} failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as T;
}

async function waitForHealth(url: string, name: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    const answer = await fetch(`${url}/health`).catch(() => undefined);
    if (answer?.ok === true) return;
    if (Date.now() - started > 60_000) throw new Error(`${name} did not answer /health`);
    await sleep(200);
  }
}
