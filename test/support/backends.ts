import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { describe } from 'vitest';
import { openSiteDatabase, type SiteDatabaseHandle } from '../../src/site/database/open.js';
import { createTestDatabase, postgresSkipReason } from './postgres.js';

/**
 * Runs one store contract suite against every back end: embedded PGlite and PostgreSQL
 * (CONVENTIONS.md: "one contract suite runs against every back end"). Each `open()` gives a fresh,
 * migrated, empty database; `close()` closes and deletes it.
 */
export interface TestBackend {
  readonly name: 'pglite' | 'postgres';
  readonly open: () => Promise<OpenedTestDatabase>;
}

export interface OpenedTestDatabase extends SiteDatabaseHandle {
  /** Closes the database and deletes it. */
  discard(): Promise<void>;
}

let pgliteTemplate: Promise<Blob> | undefined;

/** A migrated PGlite database dumped once per test process; copies load in about a second. */
async function templateDump(): Promise<Blob> {
  pgliteTemplate ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-template-'));
    const handle = await openSiteDatabase({ kind: 'pglite', dataDir: join(dir, 'db') });
    await handle.close();
    const pglite = new PGlite({ dataDir: join(dir, 'db') });
    await pglite.waitReady; // dumpDataDir never settles when called before the database is ready
    const dump = await pglite.dumpDataDir();
    await pglite.close();
    await rm(dir, { recursive: true, force: true });
    return dump;
  })();
  return pgliteTemplate;
}

/** Opens a fresh migrated PGlite database in a temporary folder, from the per-process template. */
export async function openTestPglite(dataDir?: string): Promise<OpenedTestDatabase> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'steward-db-')));
  const dbDir = join(dir, 'db');
  const seed = new PGlite({ dataDir: dbDir, loadDataDir: await templateDump() });
  await seed.waitReady;
  await seed.close();
  const handle = await openSiteDatabase({ kind: 'pglite', dataDir: dbDir });
  return {
    ...handle,
    discard: async () => {
      await handle.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function openTestPostgres(): Promise<OpenedTestDatabase> {
  const created = await createTestDatabase();
  if ('skip' in created) throw new Error(created.skip);
  const handle = await openSiteDatabase({ kind: 'postgres', url: created.url }, { poolSize: 4 });
  return {
    ...handle,
    discard: async () => {
      await handle.close();
      await waitForOtherConnections(created.url);
      await created.drop();
    },
  };
}

/**
 * pg-pool's `end()` resolves before its sockets close; dropping the database `with (force)` at that
 * moment kills a closing connection, whose FATAL error would surface as an uncaught exception.
 */
async function waitForOtherConnections(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const result = await client.query<{ n: string }>(
        'select count(*) as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()',
      );
      if (result.rows[0]?.n === '0') return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await client.end();
  }
}

export const backends: readonly TestBackend[] = [
  { name: 'pglite', open: openTestPglite },
  { name: 'postgres', open: openTestPostgres },
];

const skipPostgres = await postgresSkipReason();

/**
 * `describeEachBackend('client store', (open) => { ... })` declares the suite once per back end.
 * The PostgreSQL run is skipped, with the reason in its name, only when no server can be found.
 */
export function describeEachBackend(
  title: string,
  suite: (open: () => Promise<OpenedTestDatabase>) => void,
): void {
  for (const backend of backends) {
    if (backend.name === 'postgres' && skipPostgres !== undefined) {
      describe.skip(`${title} [postgres: skipped, ${skipPostgres}]`, () => {
        suite(backend.open);
      });
    } else {
      describe(`${title} [${backend.name}]`, () => {
        suite(backend.open);
      });
    }
  }
}
