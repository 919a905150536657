/**
 * Sites of a hierarchy for end-to-end tests: a central site created by `initCentralSite`, children
 * joined with real join tokens by `joinParentSite` (the code `steward site init --parent` runs; in
 * process here only for the low key-file cost, or through the real CLI), each run as its own
 * `steward site start` process on loopback and stopped by its PID.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { joinParentSite } from '../../../src/site/hierarchy/join/join-site.js';
import { initCentralSite } from '../../../src/site/init/site-init.js';
import { freePort } from '../../support/site-process.js';
import {
  runStewardJson,
  startSteward,
  waitUntil,
  type StewardProcess,
} from '../../support/steward-process.js';

export const testKeyFileCost = { N: 1024, r: 8, p: 1 } as const;

/** Fast link and proxy timings for tests (docs/hierarchy.md names them). */
export const fastHierarchyEnv = {
  STEWARD_HIERARCHY_RETRY_INTERVAL: '300',
  STEWARD_HIERARCHY_IDLE_INTERVAL: '200',
  STEWARD_HIERARCHY_PROXY_REVALIDATE: '300',
  STEWARD_HIERARCHY_SITE_CONTROL_INTERVAL: '500',
};

export interface HierarchySite {
  readonly code: string;
  readonly type: 'central' | 'primary' | 'secondary';
  readonly dir: string;
  readonly dataDir: string;
  readonly url: string;
  readonly listen: string;
  readonly adminToken: string;
  /** At a central site: the root fingerprint; at a primary: its first enrolment token. */
  readonly rootFingerprint: string;
  readonly enrolmentToken: string | null;
  process: StewardProcess | null;
  start(extraArgs?: readonly string[]): Promise<void>;
  stop(): Promise<void>;
  api<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T>;
}

function siteHandle(input: {
  code: string;
  type: HierarchySite['type'];
  dir: string;
  dataDir: string;
  url: string;
  listen: string;
  adminToken: string;
  rootFingerprint: string;
  enrolmentToken: string | null;
  env?: Record<string, string>;
}): HierarchySite {
  const site: HierarchySite = {
    ...input,
    process: null,
    start: async (extraArgs = []) => {
      if (site.process?.running() === true) return;
      const started = startSteward(['site', 'start', '--data', input.dataDir, ...extraArgs], {
        env: { ...fastHierarchyEnv, ...(input.env ?? {}) },
      });
      site.process = started;
      await waitUntil(
        async () => {
          if (!started.running()) throw new Error(`site ${input.code} exited: ${started.stderr()}`);
          return (await fetch(`${input.url}/health`)).ok;
        },
        `site ${input.code} to answer /health`,
        60_000,
      );
    },
    stop: async () => {
      const running = site.process;
      site.process = null;
      if (running === null) return;
      const exit = await running.stop('SIGTERM');
      if (exit.code !== 0)
        throw new Error(`site ${input.code} stopped with ${exit.code ?? exit.signal}: ${running.stderr()}`);
    },
    api: async <T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${input.url}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${input.adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok)
        throw new Error(`${input.code} ${method} ${path} answered ${response.status}: ${text}`);
      return JSON.parse(text) as T;
    },
  };
  return site;
}

async function adminToken(dataDir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as { token: string })
    .token;
}

/** A central site in a new folder (not started). */
export async function createCentralSite(
  code: string,
  options: { host?: string; port?: number; env?: Record<string, string> } = {},
): Promise<HierarchySite> {
  const dir = await mkdtemp(join(tmpdir(), `steward-h-${code.toLowerCase()}-`));
  const dataDir = join(dir, 'site');
  const listen = `${options.host ?? '127.0.0.1'}:${options.port ?? (await freePort())}`;
  const init = await initCentralSite({
    dataDir,
    code,
    name: `Site ${code}`,
    listen,
    publicUrl: `http://${listen}`,
    database: null,
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  return siteHandle({
    code,
    type: 'central',
    dir,
    dataDir,
    url: init.url,
    listen,
    adminToken: await adminToken(dataDir),
    rootFingerprint: init.rootFingerprint,
    enrolmentToken: init.enrolmentToken,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
}

/** A join token issued at `parent` (which must be running). */
export async function issueJoinToken(
  parent: HierarchySite,
  siteType: 'primary' | 'secondary',
): Promise<string> {
  return (await parent.api<{ token: string }>('POST', '/hierarchy/join-tokens', { siteType })).token;
}

/**
 * A child joined to `parent` with a fresh join token (in process, or with `cli: true` through the
 * real `steward site init --parent` command). Not started.
 */
export async function joinChildSite(
  parent: HierarchySite,
  code: string,
  siteType: 'primary' | 'secondary',
  options: { cli?: boolean; host?: string; port?: number; env?: Record<string, string>; token?: string } = {},
): Promise<HierarchySite> {
  const dir = await mkdtemp(join(tmpdir(), `steward-h-${code.toLowerCase()}-`));
  const dataDir = join(dir, 'site');
  const listen = `${options.host ?? '127.0.0.1'}:${options.port ?? (await freePort())}`;
  const token = options.token ?? (await issueJoinToken(parent, siteType));
  let enrolmentToken: string | null;
  let rootFingerprint: string;
  if (options.cli === true) {
    const result = await runStewardJson<{ enrolmentToken: string | null; rootFingerprint: string }>(
      [
        'site',
        'init',
        '--data',
        dataDir,
        '--code',
        code,
        '--listen',
        listen,
        '--public-url',
        `http://${listen}`,
        '--parent',
        parent.url,
        '--join-token',
        token,
        '--join-wait',
        '120',
      ],
      { timeoutMs: 180_000 },
    );
    enrolmentToken = result.enrolmentToken;
    rootFingerprint = result.rootFingerprint;
  } else {
    const result = await joinParentSite({
      dataDir,
      code,
      name: `Site ${code}`,
      listen,
      publicUrl: `http://${listen}`,
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
    enrolmentToken = result.enrolmentToken;
    rootFingerprint = result.rootFingerprint;
  }
  return siteHandle({
    code,
    type: siteType,
    dir,
    dataDir,
    url: `http://${listen}`,
    listen,
    adminToken: await adminToken(dataDir),
    rootFingerprint,
    enrolmentToken,
    ...(options.env === undefined ? {} : { env: options.env }),
  });
}

export interface LinkView {
  siteCode: string;
  direction: 'parent' | 'child';
  outboundSequence: number;
  acknowledgedSequence: number;
  inboundSequence: number;
  backlog: { records: number; batches: number };
  lastContactAt: string | null;
  lastError: string | null;
}

export interface HierarchyView {
  links: LinkView[];
  sites: { code: string; type: string; parentCode: string | null; certified: boolean }[];
  contentTransfers: { packageId: string; version: string; state: string; lastError: string | null }[];
  joins: { childCode: string; state: string }[];
}

export async function hierarchyOf(site: HierarchySite): Promise<HierarchyView> {
  return site.api<HierarchyView>('GET', '/hierarchy');
}

export function linkTo(view: HierarchyView, code: string): LinkView {
  const link = view.links.find((l) => l.siteCode === code);
  if (link === undefined) throw new Error(`no link to ${code}`);
  return link;
}
