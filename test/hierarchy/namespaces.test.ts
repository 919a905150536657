/**
 * The three-level hierarchy across network namespaces (docs/hierarchy.md): the central, primary and
 * secondary sites each in a namespace of its own, joined by veth pairs with addresses this test
 * creates (198.18.0.0/15, the benchmarking range, inside the namespaces only), the primary routing
 * between its two links like a branch-office WAN. Children join with join tokens through the real
 * CLI; an agent in the secondary's namespace gets a central deployment through the proxy MP and
 * the secondary's DP, and its status reaches the central site. All three sites serve HTTPS (the
 * default off loopback) and their links run over mutual TLS with site certificates (docs/tls.md);
 * the agent gets its client certificate from the central site's CA through the secondary's proxy
 * MP and the primary's parent link, and polls and reports over mutual TLS. Skipped where
 * namespaces cannot be made (not root, no `ip netns`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCentralSite } from '../../src/site/init/site-init.js';
import { isIssuedBy, randomId } from '../../src/trust/index.js';
import { signalPid, stewardBin, waitUntil } from '../support/steward-process.js';
import { fastHierarchyEnv, testKeyFileCost } from './support/hierarchy-sites.js';

function namespacesWork(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = `stw-probe-${randomId().slice(0, 6)}`;
  if (spawnSync('ip', ['netns', 'add', probe]).status !== 0) return false;
  spawnSync('ip', ['netns', 'del', probe]);
  return true;
}

const available = namespacesWork();
const suffix = randomId().slice(0, 5);
const ns = { central: `stw-${suffix}-c`, primary: `stw-${suffix}-p`, secondary: `stw-${suffix}-s` };
const address = {
  central: '198.18.1.1',
  primaryUp: '198.18.1.2',
  primaryDown: '198.18.2.1',
  secondary: '198.18.2.2',
};
const port = 18430;
const started: ChildProcess[] = [];
/** The hierarchy CA certificate (the central site's tls/ca.pem) that admin calls over HTTPS trust. */
let caFile = '-';

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`ip ${args.join(' ')}: ${result.stderr}`);
}

function inNamespace(name: string, ...args: string[]): void {
  ip('netns', 'exec', name, ...args);
}

/** `steward ARGS --json` inside a namespace; its one JSON document. */
async function stewardIn<T>(name: string, args: readonly string[], timeoutMs = 180_000): Promise<T> {
  const child = spawn('ip', ['netns', 'exec', name, process.execPath, stewardBin, ...args, '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const timer = setTimeout(() => child.pid !== undefined && signalPid(child.pid, 'SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`steward ${args.slice(0, 2).join(' ')} in ${name} exited ${code}: ${err}`);
  return JSON.parse(out) as T;
}

/** A long-running `steward site start` inside a namespace, stopped by its PID in afterAll. */
async function startSiteIn(
  name: string,
  dataDir: string,
  url: string,
  extra: readonly string[] = [],
): Promise<void> {
  const child = spawn(
    'ip',
    ['netns', 'exec', name, process.execPath, stewardBin, 'site', 'start', '--data', dataDir, ...extra],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...fastHierarchyEnv },
    },
  );
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-8192)));
  started.push(child);
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`site in ${name} exited: ${err}`);
      return (await apiIn<{ status: string }>(name, `${url}/health`, null)).status === 'ok';
    },
    `the site in ${name}`,
    90_000,
    500,
  );
}

/** An HTTP request made from inside a namespace (the test itself is outside all of them). */
async function apiIn<T>(
  name: string,
  url: string,
  token: string | null,
  method = 'GET',
  body?: unknown,
): Promise<T> {
  const script = `
    const [url, token, method, body, caFile] = process.argv.slice(1);
    const headers = token === '-' ? {} : { authorization: 'Bearer ' + token };
    if (body !== '-') headers['content-type'] = 'application/json';
    const done = (status, t) => { if (status >= 400) { console.error(status, t); process.exit(1); } process.stdout.write(t); };
    const fail = (e) => { console.error(e.message); process.exit(1); };
    if (url.startsWith('https:')) {
      const ca = require('node:fs').readFileSync(caFile, 'utf8');
      const request = require('node:https').request(url, { method, headers, ca: [ca] }, (r) => {
        let t = ''; r.on('data', (c) => (t += c)); r.on('end', () => done(r.statusCode, t));
      });
      request.on('error', fail);
      request.end(body === '-' ? undefined : body);
    } else {
      fetch(url, { method, headers, body: body === '-' ? undefined : body })
        .then(async (r) => done(r.status, await r.text()))
        .catch(fail);
    }`;
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      name,
      process.execPath,
      '-e',
      script,
      url,
      token ?? '-',
      method,
      body === undefined ? '-' : JSON.stringify(body),
      caFile,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const timer = setTimeout(() => child.pid !== undefined && signalPid(child.pid, 'SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${method} ${url} from ${name}: ${err}`);
  return JSON.parse(out) as T;
}

describe.skipIf(!available)('a hierarchy across network namespaces', () => {
  let dir: string;
  const urls = {
    central: `https://${address.central}:${port}`,
    primary: `https://${address.primaryUp}:${port}`,
    primaryForSecondary: `https://${address.primaryDown}:${port}`,
    secondary: `https://${address.secondary}:${port}`,
  };
  let tokens: { central: string; primary: string };
  let rootFingerprint: string;
  let primaryEnrolment: string;

  beforeAll(async () => {
    for (const name of Object.values(ns)) {
      ip('netns', 'add', name);
      inNamespace(name, 'ip', 'link', 'set', 'lo', 'up');
    }
    // central <-> primary
    ip('link', 'add', `stw${suffix}a`, 'type', 'veth', 'peer', 'name', `stw${suffix}b`);
    ip('link', 'set', `stw${suffix}a`, 'netns', ns.central);
    ip('link', 'set', `stw${suffix}b`, 'netns', ns.primary);
    inNamespace(ns.central, 'ip', 'addr', 'add', `${address.central}/24`, 'dev', `stw${suffix}a`);
    inNamespace(ns.primary, 'ip', 'addr', 'add', `${address.primaryUp}/24`, 'dev', `stw${suffix}b`);
    inNamespace(ns.central, 'ip', 'link', 'set', `stw${suffix}a`, 'up');
    inNamespace(ns.primary, 'ip', 'link', 'set', `stw${suffix}b`, 'up');
    // primary <-> secondary
    ip('link', 'add', `stw${suffix}c`, 'type', 'veth', 'peer', 'name', `stw${suffix}d`);
    ip('link', 'set', `stw${suffix}c`, 'netns', ns.primary);
    ip('link', 'set', `stw${suffix}d`, 'netns', ns.secondary);
    inNamespace(ns.primary, 'ip', 'addr', 'add', `${address.primaryDown}/24`, 'dev', `stw${suffix}c`);
    inNamespace(ns.secondary, 'ip', 'addr', 'add', `${address.secondary}/24`, 'dev', `stw${suffix}d`);
    inNamespace(ns.primary, 'ip', 'link', 'set', `stw${suffix}c`, 'up');
    inNamespace(ns.secondary, 'ip', 'link', 'set', `stw${suffix}d`, 'up');
    // The primary routes between the central site and its branch.
    inNamespace(ns.primary, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    inNamespace(ns.central, 'ip', 'route', 'add', '198.18.2.0/24', 'via', address.primaryUp);
    inNamespace(ns.secondary, 'ip', 'route', 'add', '198.18.1.0/24', 'via', address.primaryDown);

    dir = await mkdtemp(join(tmpdir(), 'steward-netns-'));
    const central = await initCentralSite({
      dataDir: join(dir, 'central'),
      code: 'CEN',
      name: 'Head office',
      listen: `0.0.0.0:${port}`,
      publicUrl: urls.central,
      database: null,
      passphrase: null,
      approval: 'token',
      now: new Date(),
      keyFileCost: testKeyFileCost,
    });
    rootFingerprint = central.rootFingerprint;
    // HTTPS (the default off loopback); the admin calls trust the hierarchy CA only.
    caFile = join(dir, 'central', 'tls', 'ca.pem');
    await startSiteIn(ns.central, join(dir, 'central'), urls.central);
    const centralToken = (JSON.parse(await readFile(central.credentialsPath, 'utf8')) as { token: string })
      .token;

    const primaryJoinToken = await apiIn<{ token: string }>(
      ns.central,
      `${urls.central}/api/v1/hierarchy/join-tokens`,
      centralToken,
      'POST',
      {
        siteType: 'primary',
      },
    );
    const primary = await stewardIn<{ enrolmentToken: string; siteCode: string }>(ns.primary, [
      'site',
      'init',
      '--data',
      join(dir, 'primary'),
      '--code',
      'PRI',
      '--listen',
      `0.0.0.0:${port}`,
      '--public-url',
      urls.primary,
      '--parent',
      urls.central,
      '--join-token',
      primaryJoinToken.token,
      '--root-key',
      rootFingerprint,
    ]);
    primaryEnrolment = primary.enrolmentToken;
    await startSiteIn(ns.primary, join(dir, 'primary'), urls.primary);
    const primaryToken = (
      JSON.parse(await readFile(join(dir, 'primary', 'admin-credentials.json'), 'utf8')) as { token: string }
    ).token;

    const secondaryJoinToken = await apiIn<{ token: string }>(
      ns.primary,
      `${urls.primary}/api/v1/hierarchy/join-tokens`,
      primaryToken,
      'POST',
      {
        siteType: 'secondary',
      },
    );
    await stewardIn(ns.secondary, [
      'site',
      'init',
      '--data',
      join(dir, 'secondary'),
      '--code',
      'SEC',
      '--listen',
      `0.0.0.0:${port}`,
      '--public-url',
      urls.secondary,
      '--parent',
      urls.primaryForSecondary,
      '--join-token',
      secondaryJoinToken.token,
    ]);
    await startSiteIn(ns.secondary, join(dir, 'secondary'), urls.secondary);
    tokens = { central: centralToken, primary: primaryToken };
  }, 400_000);

  afterAll(async () => {
    for (const child of started) {
      const pid = child.pid;
      if (pid === undefined || child.exitCode !== null) continue;
      const exited = new Promise<boolean>((resolve) => child.once('close', () => resolve(true)));
      signalPid(pid, 'SIGTERM');
      const grace = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 10_000));
      if (!(await Promise.race([exited, grace]))) signalPid(pid, 'SIGKILL');
    }
    for (const name of Object.values(ns)) spawnSync('ip', ['netns', 'del', name]);
  });

  it('carries a central deployment to an agent in the branch namespace and its status back', async () => {
    const agentDir = join(dir, 'agent');
    const enrolled = await stewardIn<{ clientId: string; siteCode: string }>(ns.secondary, [
      'agent',
      'enroll',
      '--data',
      agentDir,
      '--mp',
      urls.secondary,
      '--root-key',
      rootFingerprint,
      '--token',
      primaryEnrolment,
    ]);
    expect(enrolled.siteCode).toBe('PRI');
    // The first cycles wait for the client certificate (ERR_CLIENT_CERTIFICATE_PENDING) while the
    // request travels up to the central site's CA and the certificate comes back down.
    await waitUntil(
      () =>
        stewardIn(ns.secondary, ['agent', 'run', '--data', agentDir, '--once']).then(
          () => true,
          () => false,
        ),
      'the branch agent to complete a cycle over mutual TLS',
      120_000,
      1000,
    );
    await waitUntil(
      async () => {
        const clients = await apiIn<{ items: { id: string }[] }>(
          ns.central,
          `${urls.central}/api/v1/clients`,
          tokens.central,
        );
        return clients.items.some((c) => c.id === enrolled.clientId);
      },
      'the central site to know the branch agent',
      60_000,
      500,
    );

    const source = join(dir, 'source');
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'install.sh'), 'echo across namespaces > "$STEWARD_AGENT_DIR/netns.txt"\n');
    const job = await apiIn<{ id: string }>(
      ns.central,
      `${urls.central}/api/v1/packages`,
      tokens.central,
      'POST',
      {
        name: 'netns',
        version: '1.0',
        sourcePath: source,
        programs: [{ name: 'install', commandLine: 'sh install.sh', timeLimitSeconds: 60 }],
      },
    );
    const packageId = await waitUntil(
      async () => {
        const view = await apiIn<{ state: string; result: { packageId: string } | null }>(
          ns.central,
          `${urls.central}/api/v1/jobs/${job.id}`,
          tokens.central,
        );
        return view.result?.packageId;
      },
      'the import',
      60_000,
      500,
    );
    const secondaryCredentials = JSON.parse(
      await readFile(join(dir, 'secondary', 'admin-credentials.json'), 'utf8'),
    ) as { token: string };
    await waitUntil(
      async () => {
        const view = await apiIn<{ contentTransfers: { packageId: string; state: string }[] }>(
          ns.secondary,
          `${urls.secondary}/api/v1/hierarchy`,
          secondaryCredentials.token,
        );
        return view.contentTransfers.some((t) => t.packageId === packageId && t.state === 'done');
      },
      'the branch DP to hold the package',
      90_000,
      500,
    );
    const collection = await apiIn<{ id: string }>(
      ns.central,
      `${urls.central}/api/v1/collections`,
      tokens.central,
      'POST',
      {
        name: 'branch',
        rule: null,
        clientIds: [enrolled.clientId],
      },
    );
    const deployment = await apiIn<{ id: string }>(
      ns.central,
      `${urls.central}/api/v1/deployments`,
      tokens.central,
      'POST',
      {
        packageId,
        programName: 'install',
        collectionId: collection.id,
        mandatory: true,
      },
    );
    await waitUntil(
      async () => {
        await stewardIn(ns.secondary, ['agent', 'run', '--data', agentDir, '--once']);
        return (await readFile(join(agentDir, 'netns.txt'), 'utf8').catch(() => '')).includes(
          'across namespaces',
        );
      },
      'the branch agent to run the program',
      120_000,
      500,
    );
    const health = await apiIn<{ contentRequestsServed: number }>(
      ns.secondary,
      `${urls.secondary}/health`,
      null,
    );
    expect(health.contentRequestsServed).toBeGreaterThanOrEqual(2);
    // It polled and reported over mutual TLS with a certificate from the central site's CA.
    const agentTls = JSON.parse(await readFile(join(agentDir, 'state', 'tls.json'), 'utf8')) as {
      caCertificate: string;
      clientCertificate: string | null;
    };
    expect(agentTls.clientCertificate).not.toBeNull();
    expect(isIssuedBy(agentTls.clientCertificate ?? '', agentTls.caCertificate)).toBe(true);
    expect(agentTls.caCertificate).toBe(await readFile(caFile, 'utf8'));
    await waitUntil(
      async () => {
        const view = await apiIn<{ summary: { succeeded: number } }>(
          ns.central,
          `${urls.central}/api/v1/deployments/${deployment.id}`,
          tokens.central,
        );
        return view.summary.succeeded === 1;
      },
      'the central site to count the branch success',
      90_000,
      500,
    );
    // The secondary never reaches the central site directly except through the routed primary.
    const sites = await apiIn<{ sites: { code: string; parentCode: string | null }[] }>(
      ns.central,
      `${urls.central}/api/v1/hierarchy`,
      tokens.central,
    );
    expect(sites.sites.find((s) => s.code === 'SEC')?.parentCode).toBe('PRI');
  }, 400_000);
});
