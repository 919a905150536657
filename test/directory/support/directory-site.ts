/**
 * A central site that uses the private slapd (test/support/slapd.ts): created by
 * `initCentralSite` on a free loopback port (its code ABC, so that the slapd account steward-ABC is
 * its site system account), configured with `steward directory configure` as an administrator
 * would, and run in process by `startSiteServer`. Agents reach it over its socket.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCentralSite, type SiteInitResult } from '../../../src/site/init/site-init.js';
import { startSiteServer, type RunningSite } from '../../../src/site/server/site-server.js';
import { testKeyFileCost } from '../../support/site-fixture.js';
import { freePort } from '../../support/site-process.js';
import { waitUntil } from '../../support/steward-process.js';
import type { TestSlapd } from '../../support/slapd.js';
import { stewardDirectory } from './directory-cli.js';

export interface DirectorySite {
  dir: string;
  dataDir: string;
  url: string;
  init: SiteInitResult;
  running: RunningSite;
  token: string;
  api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, token?: string): Promise<T>;
  /** The raw response, for status checks; `authorization` replaces the admin token. */
  request(method: string, path: string, init?: { authorization?: string; body?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startDirectorySite(
  slapd: TestSlapd,
  options: { approval?: 'directory' | 'token'; code?: string } = {},
): Promise<DirectorySite> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-dirsite-'));
  const dataDir = join(dir, 'site');
  const code = options.code ?? 'ABC';
  const account = slapd.siteSystems.find((a) => a.name === `steward-${code}`);
  if (account === undefined) throw new Error(`slapd has no account steward-${code}`);
  const init = await initCentralSite({
    dataDir,
    code,
    name: `Site ${code}`,
    listen: `127.0.0.1:${await freePort()}`,
    publicUrl: null,
    database: null,
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  const configured = await stewardDirectory([
    'configure',
    '--data',
    dataDir,
    '--url',
    slapd.url,
    '--base-dn',
    slapd.baseDn,
    '--bind-dn',
    account.dn,
    '--password-file',
    account.passwordFile,
    '--approval',
    options.approval ?? 'token',
  ]);
  if (configured.code !== 0) throw new Error(`directory configure failed: ${configured.stderr}`);
  const { token } = JSON.parse(await readFile(init.credentialsPath, 'utf8')) as { token: string };
  const running = await startSiteServer({ dataDir, settings: { logLevel: 'fatal' } });
  const request = (method: string, path: string, init: { authorization?: string; body?: unknown } = {}) =>
    fetch(`${running.url}${path}`, {
      method,
      headers: {
        authorization: init.authorization ?? `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  return {
    dir,
    dataDir,
    url: running.url,
    init,
    running,
    token,
    request,
    api: async <T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown, bearer?: string) => {
      const response = await request(method, `/api/v1${path}`, {
        ...(body === undefined ? {} : { body }),
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    },
    stop: async () => {
      await running.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Imports a one-file package whose program writes a marker into the agent's folder, and deploys it
 * as mandatory to a new collection of `clientIds`.
 */
export async function deployMarker(site: DirectorySite, name: string, clientIds: string[]): Promise<string> {
  const source = join(site.dir, `source-${name}`);
  await mkdir(source, { recursive: true });
  await writeFile(join(source, 'install.sh'), 'echo "installed by steward" > "$STEWARD_AGENT_DIR/marker"\n');
  const job = await site.api<{ id: string }>('POST', '/packages', {
    name,
    version: '1.0',
    sourcePath: source,
    programs: [{ name: 'install', commandLine: 'sh install.sh', timeLimitSeconds: 60 }],
  });
  const done = await waitUntil(async () => {
    const view = await site.api<{ state: string; result: { packageId: string } | null; error: unknown }>(
      'GET',
      `/jobs/${job.id}`,
    );
    return view.state === 'running' ? undefined : view;
  }, `the import of package ${name}`);
  if (done.result === null) throw new Error(`the import failed: ${JSON.stringify(done.error)}`);
  const collection = await site.api<{ id: string }>('POST', '/collections', {
    name: `${name} clients`,
    rule: null,
    clientIds,
  });
  const deployment = await site.api<{ id: string }>('POST', '/deployments', {
    packageId: done.result.packageId,
    programName: 'install',
    collectionId: collection.id,
    mandatory: true,
    rerun: 'never',
  });
  return deployment.id;
}
