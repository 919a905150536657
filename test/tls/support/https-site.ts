/**
 * A central site serving HTTPS for the transport-security tests (docs/tls.md): initialised
 * in-process (low key-file cost, a fixed free port on 127.0.0.1), then run as a real
 * `steward site start --tls always` process, stopped by its PID. The admin API is reached over
 * HTTPS with the site's hierarchy CA, as the CLI reaches it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { initCentralSite, type SiteInitResult } from '../../../src/site/init/site-init.js';
import { siteDataLayout } from '../../../src/site/data-folder/layout.js';
import { httpsFetch, tlsOptionsFor, type TlsClientOptions } from '../../../src/trust/index.js';
import { deployFiles, freePort } from '../../support/site-process.js';
import { startSteward, waitUntil, type StewardProcess } from '../../support/steward-process.js';

export const testKeyFileCost = { N: 1024, r: 8, p: 1 } as const;

export interface HttpsSite {
  readonly dir: string;
  readonly dataDir: string;
  readonly port: number;
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly init: SiteInitResult;
  readonly token: string;
  readonly caPem: string;
  /** TLS options trusting the site's hierarchy CA only. */
  readonly tls: TlsClientOptions;
  process: StewardProcess | null;
  start(extraArgs?: readonly string[]): Promise<void>;
  stop(): Promise<void>;
  api<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
  remove(): Promise<void>;
}

/** Initialises a central site listening on 127.0.0.1 and starts it with `--tls always`. */
export async function createHttpsSite(
  code: string,
  options: { serverCertificateDays?: number; startArgs?: readonly string[] } = {},
): Promise<HttpsSite> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-tls-'));
  const dataDir = join(dir, 'site');
  const port = await freePort();
  const init = await initCentralSite({
    dataDir,
    code,
    name: `Site ${code}`,
    listen: `127.0.0.1:${port}`,
    publicUrl: null,
    database: null,
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
    ...(options.serverCertificateDays === undefined
      ? {}
      : { serverCertificateDays: options.serverCertificateDays }),
  });
  const { token } = JSON.parse(await readFile(init.credentialsPath, 'utf8')) as { token: string };
  const caPem = await readFile(siteDataLayout(dataDir).tlsCaCertificate, 'utf8');
  const tls = tlsOptionsFor({ caPem });
  const url = `https://127.0.0.1:${port}`;
  const site: HttpsSite = {
    dir,
    dataDir,
    port,
    url,
    init,
    token,
    caPem,
    tls,
    process: null,
    start: async (extraArgs = options.startArgs ?? []) => {
      if (site.process?.running() === true) return;
      const started = startSteward(['site', 'start', '--data', dataDir, '--tls', 'always', ...extraArgs]);
      site.process = started;
      await waitUntil(
        async () => {
          if (!started.running()) throw new Error(`the site server exited: ${started.stderr()}`);
          return (await httpsFetch(`${url}/health`, { tls, timeoutMs: 2000 })).status === 200;
        },
        'the site server to answer /health over HTTPS',
        60_000,
      );
    },
    stop: async () => {
      const running = site.process;
      site.process = null;
      if (running === null) return;
      await running.stop('SIGTERM');
    },
    api: async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
      const response = await httpsFetch(`${url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        tls,
        timeoutMs: 60_000,
      });
      const text = Buffer.from(response.body).toString('utf8');
      if (response.status >= 400) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    remove: async () => {
      await site.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await site.start();
  return site;
}

/** The certificate a TLS server presents (no validation: for looking at serials and dates). */
export async function peerCertificate(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      resolve(certificate);
    });
    socket.once('error', reject);
  });
}

/** Imports a package from files and deploys its program to the clients, over the HTTPS admin API. */
export async function deployOverHttps(
  site: HttpsSite,
  input: { name: string; files: Record<string, string>; commandLine: string; clientIds: string[] },
): Promise<string> {
  return (await deployFiles(site, input)).deploymentId;
}
