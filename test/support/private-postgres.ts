/**
 * A PostgreSQL cluster of a test's own, from the Debian binaries (/usr/lib/postgresql/15/bin), that
 * the test may stop and start again: the shared server on 127.0.0.1:5432 is never restarted. The
 * cluster lives in a temporary folder, listens on a free loopback port and trusts local
 * connections; `pg_ctl` stops it by the PID in its postmaster.pid.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './postgres.js';

const run = promisify(execFile);
const debianBin = '/usr/lib/postgresql/15/bin';

export interface PrivateCluster {
  readonly port: number;
  readonly dir: string;
  /** A URL for `database` (default `postgres`) as the superuser `postgres`. */
  url(database?: string): string;
  /** `pg_ctl start -w`: returns once the server accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: sessions are terminated (SQLSTATE 57P01), the server is down on return. */
  stop(): Promise<void>;
  /** Runs one statement as the superuser on `database`. */
  query(text: string, database?: string): Promise<pg.QueryResult>;
  /** Stops the server (immediately) and deletes its folder. */
  destroy(): Promise<void>;
}

/** Why no private cluster can be made here, or undefined when one can. */
export function privateClusterSkipReason(): string | undefined {
  return existsSync(join(debianBin, 'initdb')) && existsSync(join(debianBin, 'pg_ctl'))
    ? undefined
    : `no PostgreSQL binaries in ${debianBin}`;
}

export async function createPrivateCluster(): Promise<PrivateCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-private-pg-'));
  await chmod(dir, 0o777);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  // initdb and postgres refuse to run as root: run them as the postgres account then.
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const exec = async (args: string[]): Promise<void> => {
    const [command, ...rest] = [...asPostgres, ...args];
    await run(command ?? '', rest, { timeout: 120_000 });
  };
  await exec([
    join(debianBin, 'initdb'),
    '-D',
    dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '--no-sync',
    '--no-instructions',
  ]);
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c max_connections=50',
  ].join(' ');
  let running = false;
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const cluster: PrivateCluster = {
    port,
    dir,
    url,
    start: async () => {
      await exec([
        join(debianBin, 'pg_ctl'),
        '-D',
        dataDir,
        '-l',
        join(dir, 'server.log'),
        '-o',
        options,
        '-w',
        '-t',
        '60',
        'start',
      ]);
      running = true;
    },
    stop: async () => {
      await exec([join(debianBin, 'pg_ctl'), '-D', dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
      running = false;
    },
    query: async (text, database) => {
      const client = new pg.Client({ connectionString: url(database) });
      await client.connect();
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    },
    destroy: async () => {
      if (running) {
        await exec([join(debianBin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(
          () => undefined,
        );
        running = false;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
