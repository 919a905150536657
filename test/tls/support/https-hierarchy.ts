/**
 * A central site and a child site both serving HTTPS on loopback (`--tls always`), for the
 * site-to-site mutual TLS tests (docs/tls.md, "Site certificates"). The central site is created by
 * `initCentralSite`, the child joins it with a real join token over HTTPS by `joinParentSite`
 * (in process only for the low key-file cost), each runs as its own `steward site start` process
 * and is stopped by its PID. Admin calls go over HTTPS, validated against the hierarchy CA only.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinParentSite } from '../../../src/site/hierarchy/join/join-site.js';
import { initCentralSite } from '../../../src/site/init/site-init.js';
import { siteDataLayout } from '../../../src/site/data-folder/layout.js';
import { httpsFetch, tlsOptionsFor, type TlsClientOptions } from '../../../src/trust/index.js';
import { fastHierarchyEnv, testKeyFileCost } from '../../hierarchy/support/hierarchy-sites.js';
import { freePort } from '../../support/site-process.js';
import { startSteward, waitUntil, type StewardProcess } from '../../support/steward-process.js';

export interface HttpsHierarchySite {
  readonly code: string;
  readonly dir: string;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly token: string;
  process: StewardProcess | null;
  start(): Promise<void>;
  stop(): Promise<void>;
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  remove(): Promise<void>;
}

function handle(input: {
  code: string;
  dir: string;
  dataDir: string;
  host: string;
  port: number;
  token: string;
  tls: () => TlsClientOptions;
  startArgs: readonly string[];
  /** A secondary site serves plain HTTP on loopback unless started with --tls always. */
  scheme?: 'https' | 'http';
}): HttpsHierarchySite {
  const scheme = input.scheme ?? 'https';
  const url = `${scheme}://${input.host}:${input.port}`;
  const get = async (path: string, headers: Record<string, string>, method = 'GET', body?: string) => {
    if (scheme === 'http') {
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
      });
      return { status: response.status, text: await response.text() };
    }
    const response = await httpsFetch(`${url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      tls: input.tls(),
      timeoutMs: 60_000,
    });
    return { status: response.status, text: Buffer.from(response.body).toString('utf8') };
  };
  const site: HttpsHierarchySite = {
    ...input,
    url,
    process: null,
    start: async () => {
      if (site.process?.running() === true) return;
      let lastError = '';
      const tlsArgs = scheme === 'https' ? ['--tls', 'always'] : [];
      const started = startSteward(
        ['site', 'start', '--data', input.dataDir, ...tlsArgs, ...input.startArgs],
        {
          env: fastHierarchyEnv,
        },
      );
      site.process = started;
      await waitUntil(
        async () => {
          if (!started.running()) throw new Error(`site ${input.code} exited: ${started.stderr()}`);
          const answer = await get('/health', {}).catch((error: unknown) => {
            lastError = String((error as Error & { cause?: unknown }).cause ?? error);
            return undefined;
          });
          return answer?.status === 200;
        },
        `site ${input.code} to answer /health`,
        60_000,
      ).catch((error: unknown) => {
        throw new Error(
          `${(error as Error).message}; last error: ${lastError}; its output: ${started.stdout().slice(-1500)} ${started.stderr().slice(-1500)}`,
        );
      });
    },
    stop: async () => {
      const running = site.process;
      site.process = null;
      if (running === null) return;
      await running.stop('SIGTERM');
    },
    api: async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
      const response = await get(
        `/api/v1${path}`,
        {
          authorization: `Bearer ${input.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        method,
        body === undefined ? undefined : JSON.stringify(body),
      );
      const text = response.text;
      if (response.status >= 400)
        throw new Error(`${input.code} ${method} ${path}: ${response.status} ${text}`);
      return JSON.parse(text) as T;
    },
    remove: async () => {
      await site.stop();
      await rm(input.dir, { recursive: true, force: true });
    },
  };
  return site;
}

async function tokenOf(dataDir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as { token: string })
    .token;
}

/** A central site on `host` (started), its CA PEM, and TLS options trusting that CA only. */
export async function startHttpsCentral(
  code: string,
  host: string,
  startArgs: readonly string[] = [],
  /** `http`: the central site serves plain HTTP on loopback (its CA still certifies children). */
  scheme: 'https' | 'http' = 'https',
): Promise<{ site: HttpsHierarchySite; caPem: string; tls: TlsClientOptions }> {
  const dir = await mkdtemp(join(tmpdir(), `steward-mtls-${code.toLowerCase()}-`));
  const dataDir = join(dir, 'site');
  const port = await freePort();
  await initCentralSite({
    dataDir,
    code,
    name: `Site ${code}`,
    listen: `${host}:${port}`,
    publicUrl: `${scheme}://${host}:${port}`,
    database: null,
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  const caPem = await readFile(siteDataLayout(dataDir).tlsCaCertificate, 'utf8');
  const tls = tlsOptionsFor({ caPem });
  const site = handle({
    code,
    dir,
    dataDir,
    host,
    port,
    token: await tokenOf(dataDir),
    tls: () => tls,
    startArgs,
    scheme,
  });
  await site.start();
  return { site, caPem, tls };
}

/**
 * A child joined to an HTTPS parent with a fresh join token (over HTTPS), then started: a primary
 * serving HTTPS, or a secondary (plain HTTP on loopback by default; `scheme: 'https'` starts it
 * with --tls always, serving its site server certificate).
 */
export async function joinHttpsChild(
  parent: HttpsHierarchySite,
  code: string,
  host: string,
  tls: TlsClientOptions,
  siteType: 'primary' | 'secondary' = 'primary',
  scheme: 'https' | 'http' = siteType === 'primary' ? 'https' : 'http',
): Promise<HttpsHierarchySite> {
  const dir = await mkdtemp(join(tmpdir(), `steward-mtls-${code.toLowerCase()}-`));
  const dataDir = join(dir, 'site');
  const port = await freePort();
  const { token } = await parent.api<{ token: string }>('POST', '/hierarchy/join-tokens', { siteType });
  await joinParentSite({
    dataDir,
    code,
    name: `Site ${code}`,
    listen: `${host}:${port}`,
    publicUrl: `${scheme}://${host}:${port}`,
    database: null,
    passphrase: null,
    approval: 'token',
    parentUrl: parent.url,
    joinToken: token,
    siteType: null,
    rootPin: null,
    waitMs: 120_000,
    now: () => new Date(),
    keyFileCost: testKeyFileCost,
  });
  const site = handle({
    code,
    dir,
    dataDir,
    host,
    port,
    token: await tokenOf(dataDir),
    tls: () => tls,
    startArgs: [],
    scheme,
  });
  await site.start();
  return site;
}
