import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
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
  const dir = await mkdtemp(join(tmpdir(), 'steward-pg-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const run = (args: string[]): void => {
    const [command, ...rest] = [...asPostgres, ...args];
    execFileSync(command ?? '', rest, { stdio: 'ignore' });
  };
  run([join(DEBIAN_BIN, 'initdb'), '-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust']);
  const [command, ...rest] = [
    ...asPostgres,
    join(DEBIAN_BIN, 'postgres'),
    '-D',
    join(dir, 'data'),
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
  ];
  const child = spawn(command, rest, { stdio: 'ignore' });
  privateCluster = { process: child, dir };
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await canConnect(url)) return url;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the private PostgreSQL cluster did not start');
}

/** Stops a private cluster started by this process (by its PID). */
export async function stopPrivateCluster(): Promise<void> {
  if (privateCluster === undefined) return;
  privateCluster.process.kill('SIGTERM');
  await rm(privateCluster.dir, { recursive: true, force: true }).catch(() => undefined);
  privateCluster = undefined;
}
