/**
 * A real central site for end-to-end tests: created in-process by `initCentralSite` (with a low
 * key-file cost and a fixed free port, so a restarted site answers at the same URL), then run as a
 * `steward site start` child process that tests stop and start again by PID. The admin API is
 * reached over the socket with the first administrator's token, as the CLI reaches it.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCentralSite, type SiteInitResult } from '../../src/site/init/site-init.js';
import { startSteward, waitUntil, type StewardProcess } from './steward-process.js';

const testKeyFileCost = { N: 1024, r: 8, p: 1 } as const;

export interface SiteProcess {
  readonly dir: string;
  readonly dataDir: string;
  readonly url: string;
  readonly port: number;
  readonly init: SiteInitResult;
  readonly token: string;
  /** The administrator's password (admin-credentials.json). */
  readonly password: string;
  /** The running `steward site start` process, or null while stopped. */
  process: StewardProcess | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** SIGKILL by PID: no shutdown work at all, as a power cut or the OOM killer would. */
  kill(): Promise<void>;
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}

export interface SiteProcessOptions {
  /** A postgres:// URL; the embedded PGlite database when absent. */
  database?: string;
  approval?: 'token' | 'automatic' | 'manual';
  /** Extra environment for the server process (e.g. STEWARD_SITE_REQUEST_TIMEOUT). */
  env?: Record<string, string>;
  /** Runs after `site init` and before the first start (e.g. to seed the database in bulk). */
  beforeStart?: (dataDir: string) => Promise<void>;
}

/** A free TCP port on loopback (the site is then initialised to listen on it). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolvePort(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/** Initialises a central site in a new temporary folder and starts its server process. */
export async function createSiteProcess(
  code: string,
  options: SiteProcessOptions = {},
): Promise<SiteProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-e2e-'));
  const dataDir = join(dir, 'site');
  const port = await freePort();
  const init = await initCentralSite({
    dataDir,
    code,
    name: `Site ${code}`,
    listen: `127.0.0.1:${port}`,
    publicUrl: null,
    database: options.database ?? null,
    passphrase: null,
    approval: options.approval ?? 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  const { token, password } = JSON.parse(await readFile(init.credentialsPath, 'utf8')) as {
    token: string;
    password: string;
  };
  const site: SiteProcess = {
    dir,
    dataDir,
    url: init.url,
    port,
    init,
    token,
    password,
    process: null,
    start: async () => {
      if (site.process?.running() === true) return;
      const started = startSteward(['site', 'start', '--data', dataDir], { env: options.env ?? {} });
      site.process = started;
      // Fails at once when the server exits (waitUntil would keep polling until its deadline).
      const exited = started.exited.then(() => {
        throw new Error(`the site server exited: ${started.stderr()}`);
      });
      exited.catch(() => undefined);
      await Promise.race([
        exited,
        waitUntil(
          async () => (await fetch(`${init.url}/health`)).ok,
          'the site server to answer /health',
          60_000,
        ),
      ]);
    },
    stop: async () => {
      const running = site.process;
      site.process = null;
      if (running === null) return;
      const exit = await running.stop('SIGTERM');
      if (exit.code !== 0)
        throw new Error(`the site server stopped with ${exit.code ?? exit.signal}: ${running.stderr()}`);
    },
    kill: async () => {
      const running = site.process;
      site.process = null;
      if (running === null) return;
      await running.stop('SIGKILL');
    },
    api: async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${init.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    },
  };
  await options.beforeStart?.(dataDir);
  await site.start();
  return site;
}

export interface DeploymentView {
  id: string;
  summary: {
    targeted: number;
    received: number;
    downloading: number;
    running: number;
    succeeded: number;
    failed: number;
    timedOut: number;
  };
}

/**
 * Imports a package from a folder of files (written here), puts `clientIds` in a new collection
 * and deploys the package's one program to it as mandatory. Returns the deployment and package ids.
 */
export async function deployFiles(
  site: Pick<SiteProcess, 'dir' | 'api'>,
  input: {
    name: string;
    files: Record<string, string>;
    commandLine: string;
    clientIds: string[];
    rerun?: 'never' | 'always' | 'if-failed' | 'if-succeeded';
    timeLimitSeconds?: number;
  },
): Promise<{ deploymentId: string; packageId: string }> {
  const source = join(site.dir, `source-${input.name}`);
  for (const [path, content] of Object.entries(input.files)) {
    await mkdir(join(source, path, '..'), { recursive: true });
    await writeFile(join(source, path), content);
  }
  const job = await site.api<{ id: string }>('POST', '/packages', {
    name: input.name,
    version: '1.0',
    sourcePath: source,
    programs: [
      { name: 'install', commandLine: input.commandLine, timeLimitSeconds: input.timeLimitSeconds ?? 60 },
    ],
  });
  const done = await waitUntil(async () => {
    const view = await site.api<{ state: string; result: { packageId: string } | null; error: unknown }>(
      'GET',
      `/jobs/${job.id}`,
    );
    return view.state === 'running' ? undefined : view;
  }, `the import of package ${input.name}`);
  if (done.result === null) throw new Error(`the import failed: ${JSON.stringify(done.error)}`);
  const collection = await site.api<{ id: string }>('POST', '/collections', {
    name: `${input.name} clients`,
    rule: null,
    clientIds: input.clientIds,
  });
  const deployment = await site.api<{ id: string }>('POST', '/deployments', {
    packageId: done.result.packageId,
    programName: 'install',
    collectionId: collection.id,
    mandatory: true,
    rerun: input.rerun ?? 'never',
  });
  return { deploymentId: deployment.id, packageId: done.result.packageId };
}

/** Status messages at the site, newest first (GET /api/v1/status-messages). */
export async function siteStatusMessages(
  site: SiteProcess,
  query: { clientId?: string; deploymentId?: string; statusId?: number },
): Promise<
  { message_id: string; status_id: number; deployment_id: string | null; insertion_strings: string[] }[]
> {
  const params = new URLSearchParams({ limit: '500' });
  for (const [name, value] of Object.entries(query)) params.set(name, String(value));
  const page = await site.api<{
    items: {
      message_id: string;
      status_id: number;
      deployment_id: string | null;
      insertion_strings: string[];
    }[];
  }>('GET', `/status-messages?${params.toString()}`);
  return page.items;
}
