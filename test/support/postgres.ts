import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Finds a PostgreSQL server for tests, in the order the project promises: STEWARD_TEST_PG_URL, the
 * local server on 127.0.0.1:5432, then a private cluster from the Debian binaries. Each caller gets
 * a database of its own, dropped by `drop()`.
 */
export interface TestPostgres {
  readonly url: string;
  readonly source: string;
  drop(): Promise<void>;
}

const DEBIAN_BIN = '/usr/lib/postgresql/15/bin';
let serverUrl: Promise<{ url: string; source: string } | { skip: string }> | undefined;
let privateCluster: { process: ChildProcess; dir: string } | undefined;

export async function createTestDatabase(prefix = 'steward_test'): Promise<TestPostgres | { skip: string }> {
  serverUrl ??= findServer();
  const server = await serverUrl;
  if ('skip' in server) return server;
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  await adminQuery(server.url, `create database ${name}`);
  const url = withDatabase(server.url, name);
  return {
    url,
    source: server.source,
    drop: async () => {
      await adminQuery(server.url, `drop database if exists ${name} with (force)`);
    },
  };
}

/** The skip reason when no PostgreSQL can be found, or undefined when one can. */
export async function postgresSkipReason(): Promise<string | undefined> {
  serverUrl ??= findServer();
  const server = await serverUrl;
  return 'skip' in server ? server.skip : undefined;
}

async function findServer(): Promise<{ url: string; source: string } | { skip: string }> {
  const fromEnv = process.env['STEWARD_TEST_PG_URL'];
  if (fromEnv !== undefined && fromEnv !== '') {
    return { url: fromEnv, source: 'STEWARD_TEST_PG_URL' };
  }
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (await canConnect(local)) return { url: local, source: 'local server on 127.0.0.1:5432' };
  if (existsSync(join(DEBIAN_BIN, 'initdb'))) {
    return { url: await startPrivateCluster(), source: 'private cluster from the Debian binaries' };
  }
  return {
    skip: 'no PostgreSQL: set STEWARD_TEST_PG_URL, run a server on 127.0.0.1:5432, or install postgresql',
  };
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function startPrivateCluster(): Promise<string> {
  const cluster = await startPostgresCluster();
  privateCluster = { process: cluster.process, dir: cluster.dir };
  return cluster.url;
}

/** A PostgreSQL cluster of a test's own (docs/tls.md tests start one with TLS). */
export interface PostgresCluster {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** Stops the server by its PID and removes its folder. */
  stop(): Promise<void>;
}

/** True when a private cluster can be started here (the Debian PostgreSQL 15 binaries). */
export function canStartPostgresCluster(): boolean {
  return existsSync(join(DEBIAN_BIN, 'initdb'));
}

/**
 * Starts a private cluster from the Debian binaries on a free port of 127.0.0.1 (as the postgres
 * user when running as root). `prepare` runs after initdb, before the server starts (to write
 * certificates into the data folder with `writeClusterFile`); `settings` are passed as `-c`.
 */
export async function startPostgresCluster(
  options: {
    settings?: Record<string, string>;
    prepare?: (dataDir: string) => Promise<void>;
  } = {},
): Promise<PostgresCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-pg-'));
  await chmod(dir, 0o777);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const run = (args: string[]): void => {
    const [command, ...rest] = [...asPostgres, ...args];
    execFileSync(command ?? '', rest, { stdio: 'ignore' });
  };
  run([join(DEBIAN_BIN, 'initdb'), '-D', dataDir, '-U', 'postgres', '--auth=trust']);
  await options.prepare?.(dataDir);
  const settings = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: dir,
    ...options.settings,
  };
  const [command, ...rest] = [
    ...asPostgres,
    join(DEBIAN_BIN, 'postgres'),
    '-D',
    dataDir,
    '-p',
    String(port),
    ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
  ];
  const child = spawn(command ?? 'postgres', rest, { stdio: 'ignore' });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  // A TLS-only server still answers a plain connection attempt (with an error), so readiness is
  // probed with the server's own tool rather than a connection.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (isReady(port)) return { url, port, dir, dataDir, process: child, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error('the private PostgreSQL cluster did not start');
}

function isReady(port: number): boolean {
  try {
    execFileSync(join(DEBIAN_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q'], {
      stdio: 'ignore',
    });
    return true;
  } catch {
    return false;
  }
}

/** Writes a file into a cluster's data folder, mode 0600, owned by the server's user. */
export async function writeClusterFile(dataDir: string, name: string, content: string): Promise<string> {
  const path = join(dataDir, name);
  await writeFile(path, content, { mode: 0o600 });
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', path]);
  return path;
}

/** Stops a private cluster started by this process (by its PID). */
export async function stopPrivateCluster(): Promise<void> {
  if (privateCluster === undefined) return;
  privateCluster.process.kill('SIGTERM');
  await rm(privateCluster.dir, { recursive: true, force: true }).catch(() => undefined);
  privateCluster = undefined;
}
