import pg from 'pg';

/**
 * The PostgreSQL server the bench uses: STEWARD_BENCH_PG_URL, or the local server on
 * 127.0.0.1:5432 as user postgres. The bench creates a database of its own for each use and drops
 * it afterwards; it touches no other database.
 */
export function postgresServerUrl(): string {
  const fromEnv = process.env['STEWARD_BENCH_PG_URL'];
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : 'postgres://postgres@127.0.0.1:5432/postgres';
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** The server's version, or why there is none. */
export async function postgresVersion(): Promise<string> {
  try {
    const rows = await query<{ server_version: string }>(postgresServerUrl(), 'show server_version');
    return rows[0]?.server_version ?? 'unknown';
  } catch {
    return 'not reachable at 127.0.0.1:5432';
  }
}

export interface BenchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** A new database `steward_bench_<pid>_<random>` on the server, or undefined when none answers. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase | undefined> {
  const server = postgresServerUrl();
  const name = `steward_bench_${label}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  try {
    await query(server, `create database ${name}`);
  } catch {
    return undefined;
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await query(server, `drop database if exists ${name} with (force)`);
    },
  };
}
