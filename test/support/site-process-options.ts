/**
 * A real central site run as a `steward site start` child process, like site-process.ts's
 * `createSiteProcess`, with the choices the security and fault tests need: a PostgreSQL database
 * instead of the embedded one, the approval mode, environment settings (STEWARD_SITE_*), and a
 * SIGKILL that leaves the data folder exactly as a crash would.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCentralSite } from '../../src/site/init/site-init.js';
import { freePort, type SiteProcess } from './site-process.js';
import { startSteward, waitUntil } from './steward-process.js';

const testKeyFileCost = { N: 1024, r: 8, p: 1 } as const;

export interface SiteProcessOptions {
  /** A postgres:// URL; the embedded PGlite database when absent. */
  database?: string;
  approval?: 'token' | 'automatic' | 'manual';
  /** Extra environment for the server process (e.g. STEWARD_SITE_REQUEST_TIMEOUT). */
  env?: Record<string, string>;
  /** Runs after `site init` and before the first start (e.g. to seed the database in bulk). */
  beforeStart?: (dataDir: string) => Promise<void>;
}

export interface KillableSiteProcess extends SiteProcess {
  /** The administrator's password (admin-credentials.json). */
  readonly password: string;
  readonly port: number;
  /** SIGKILL by PID: no shutdown work at all, as a power cut or the OOM killer would. */
  kill(): Promise<void>;
}

export async function createSiteProcessWith(
  code: string,
  options: SiteProcessOptions = {},
): Promise<KillableSiteProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-sec-'));
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
  const site: KillableSiteProcess = {
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
      const started = startSteward(['site', 'start', '--data', dataDir], {
        env: { STEWARD_SITE_LOG_LEVEL: 'fatal', ...options.env },
      });
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
