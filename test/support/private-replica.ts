/**
 * A streaming read replica of a private PostgreSQL cluster (test/support/private-postgres.ts), made
 * the way docs/scale-out.md tells an administrator to: `pg_basebackup -R -X stream` from the
 * primary, then the standby started on a port of its own. It follows the primary over the
 * replication protocol, and reconnects by itself when the primary restarts.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './postgres.js';
import type { PrivateCluster } from './private-postgres.js';

const run = promisify(execFile);
const debianBin = '/usr/lib/postgresql/15/bin';

export interface PrivateReplica {
  readonly port: number;
  url(database?: string): string;
  query(text: string, database?: string): Promise<pg.QueryResult>;
  destroy(): Promise<void>;
}

/** Why no replica can be made here (pg_basebackup missing), or undefined. */
export function replicaSkipReason(): string | undefined {
  return existsSync(join(debianBin, 'pg_basebackup')) ? undefined : `no pg_basebackup in ${debianBin}`;
}

export async function createStreamingReplica(primary: PrivateCluster): Promise<PrivateReplica> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-private-replica-'));
  await chmod(dir, 0o777);
  const dataDir = join(dir, 'data');
  const port = await freePort();
  const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
  const exec = async (args: string[]): Promise<void> => {
    const [command, ...rest] = [...asPostgres, ...args];
    await run(command ?? '', rest, { timeout: 120_000 });
  };
  // -R writes standby.signal and primary_conninfo; -X stream copies the WAL written meanwhile;
  // -c fast starts at once instead of waiting for a spread checkpoint (minutes on an idle server).
  await exec([
    join(debianBin, 'pg_basebackup'),
    '-h',
    '127.0.0.1',
    '-p',
    String(primary.port),
    '-U',
    'postgres',
    '-D',
    dataDir,
    '-R',
    '-X',
    'stream',
    '-c',
    'fast',
    '--no-sync',
  ]);
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c max_connections=50',
    '-c hot_standby=on',
  ].join(' ');
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
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
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
      await exec([join(debianBin, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(
        () => undefined,
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
