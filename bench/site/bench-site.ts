import { copyFile, cp, readdir, readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { AdminClient } from '../../src/cli/admin-client.js';
import type { SiteInitResult } from '../../src/site/init/site-init.js';
import { runToEnd, startChild, type StartedChild } from '../harness/children.js';
import type { RunContext } from '../harness/context.js';
import { freePort } from '../harness/ports.js';
import { cpuSecondsOf, memoryOf, type MemoryStats } from '../harness/proc-stats.js';
import { summariseProfile, type ProfileWindow } from '../profile/summarise-profile.js';

/** The repository root: the bench runs the same built `steward` command an administrator runs. */
export const repositoryRoot = resolve(import.meta.dirname, '../..');
export const stewardBin = join(repositoryRoot, 'bin', 'steward.mjs');

export interface BenchSiteFolder {
  readonly dataDir: string;
  readonly init: SiteInitResult;
  /** Where this copy of the site listens (passed to `site start --listen`). */
  readonly url: string;
  readonly token: string;
}

const templates = new Map<string, Promise<{ dataDir: string; init: SiteInitResult }>>();

/**
 * A central site in `dir`, made by `steward site init --json` with the same built command that
 * then runs it (so the database schema and the server always match). Sites on the embedded
 * database are copies of one site initialised once per run (an init costs seconds of scrypt and
 * PGlite start-up), each listening on a port of its own; with `database`, a new site is
 * initialised on that PostgreSQL database.
 */
export async function createBenchSite(
  context: RunContext,
  dir: string,
  options: { database?: string | null; approval?: 'automatic' | 'token' } = {},
): Promise<BenchSiteFolder> {
  const approval = options.approval ?? 'automatic';
  const dataDir = join(dir, 'site');
  const port = await freePort();
  let init: SiteInitResult;
  if (options.database !== undefined && options.database !== null) {
    init = await siteInit(dataDir, approval, port, options.database);
  } else {
    let template = templates.get(`${context.stamp}-${approval}`);
    if (template === undefined) {
      const templateDir = join(await context.workFolder(`site-template-${approval}`), 'site');
      template = siteInit(templateDir, approval, port, null).then((result) => ({
        dataDir: templateDir,
        init: result,
      }));
      templates.set(`${context.stamp}-${approval}`, template);
    }
    const made = await template;
    await cp(made.dataDir, dataDir, { recursive: true });
    init = { ...made.init, dataDir, credentialsPath: join(dataDir, basename(made.init.credentialsPath)) };
  }
  const credentials = JSON.parse(await readFile(init.credentialsPath, 'utf8')) as { token: string };
  return { dataDir, init, url: `http://127.0.0.1:${port}`, token: credentials.token };
}

async function siteInit(
  dataDir: string,
  approval: string,
  port: number,
  database: string | null,
): Promise<SiteInitResult> {
  const args = [stewardBin, 'site', 'init', '--data', dataDir, '--code', 'BEN', '--name', 'Bench site'];
  args.push('--listen', `127.0.0.1:${port}`, '--approval', approval, '--json');
  if (database !== null) args.push('--database', database);
  const result = await runToEnd(process.execPath, args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`steward site init failed: ${result.stderr.trim()}`);
  return JSON.parse(result.stdout) as SiteInitResult;
}

export interface RunningBenchSite {
  readonly folder: BenchSiteFolder;
  readonly url: string;
  readonly pid: number;
  readonly admin: AdminClient;
  cpuSeconds(): number;
  memory(): MemoryStats;
  /**
   * With profiling on, the CPU profile is summarised for this phase (times from monotonicUs())
   * as well as for the server's whole life.
   */
  profileWindow(label: string, startUs: number, endUs: number): void;
  /** Stops the server by its PID; with profiling on, summarises the CPU profile it wrote. */
  stop(): Promise<void>;
}

/**
 * Starts `steward site start --data DIR` from the build in dist/ as its own process, so its CPU
 * time and memory are its own. With `context.profile` it runs under `node --cpu-prof`.
 */
export async function startBenchSite(
  context: RunContext,
  folder: BenchSiteFolder,
  scenario: string,
  label: string,
  env: Readonly<Record<string, string>> = {},
): Promise<RunningBenchSite> {
  // Other people's tests run on this machine: a port found free can be taken before the site
  // listens on it. Then the site starts again on another port (`--listen` overrides site.json).
  for (let attempt = 1; ; attempt += 1) {
    const url = attempt === 1 ? folder.url : `http://127.0.0.1:${await freePort()}`;
    try {
      return await startOnce(context, folder, scenario, label, url, env);
    } catch (error) {
      if (attempt >= 3) throw error;
      context.log(
        `    site start failed (${(error as Error).message.split('\n').at(-1) ?? ''}); trying another port`,
      );
    }
  }
}

async function startOnce(
  context: RunContext,
  folder: BenchSiteFolder,
  scenario: string,
  label: string,
  url: string,
  env: Readonly<Record<string, string>>,
): Promise<RunningBenchSite> {
  const profileDir = context.profile ? await context.workFolder(`profile-${label}`) : undefined;
  const nodeArgs = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`];
  // The URL of a copied site differs from the one in its site.json and MP certificate; agents
  // are given this one.
  const listen = ['--listen', new URL(url).host];
  const logFile = join(folder.dataDir, '..', `site-${label}.log`);
  const child: StartedChild = startChild(
    process.execPath,
    [...nodeArgs, stewardBin, 'site', 'start', '--data', folder.dataDir, ...listen, '--json'],
    logFile,
    { env: { ...process.env, ...env } },
  );
  try {
    // `--json` prints one pretty-printed document once the listener is up.
    await child.waitForLine((line) => (/"status":\s*"running"/.test(line) ? true : undefined), 120_000);
  } catch (error) {
    await child.stop();
    const log = await readFile(logFile, 'utf8').catch(() => '');
    throw new Error(`the site server did not start: ${log.trim().split('\n').slice(-15).join('\n')}`, {
      cause: error,
    });
  }
  const admin = new AdminClient({ url, token: folder.token });
  const windows: { label: string; window: ProfileWindow }[] = [];
  return {
    folder,
    url,
    pid: child.pid,
    admin,
    cpuSeconds: () => cpuSecondsOf(child.pid),
    memory: () => memoryOf(child.pid),
    profileWindow: (windowLabel, startUs, endUs) => {
      windows.push({ label: windowLabel, window: { startUs, endUs } });
    },
    stop: async () => {
      await child.stop(60_000);
      if (profileDir !== undefined) {
        const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile'));
        for (const file of files) {
          const kept = context.artifact(`${label}.cpuprofile`);
          await copyFile(join(profileDir, file), kept);
          for (const { label: phase, window } of windows) {
            const summary = await summariseProfile(kept, 15, window);
            context.note(
              scenario,
              `CPU profile of the site server during ${phase} (${basename(kept)}):\n\n${summary}`,
            );
          }
          if (windows.length === 0) {
            const summary = await summariseProfile(kept, 15);
            context.note(
              scenario,
              `CPU profile of the site server, whole run (${basename(kept)}):\n\n${summary}`,
            );
          }
        }
      }
    },
  };
}

/**
 * Waits until the site server uses less than `fraction` of a core over one second (its inbox and
 * collection work from a previous step has finished), or `timeoutMs` passed.
 */
export async function waitForQuietSite(
  site: RunningBenchSite,
  fraction = 0.1,
  timeoutMs = 120_000,
): Promise<number> {
  const started = Date.now();
  let before = site.cpuSeconds();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const now = site.cpuSeconds();
    if (now - before < fraction || Date.now() - started > timeoutMs) return (Date.now() - started) / 1000;
    before = now;
  }
}
