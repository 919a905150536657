import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { DatabaseError } from '../site-errors.js';
import { siteMigrations } from './migrations/index.js';
import type { SiteDatabase } from './schema.js';

/** Where the site database lives: embedded PGlite in a folder, or a PostgreSQL server. */
export type DatabaseLocation = { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string };

export interface SiteDatabaseHandle {
  readonly db: Kysely<SiteDatabase>;
  readonly location: DatabaseLocation;
  close(): Promise<void>;
}

const INT8_OID = 20;

/** pg's type parsers, with bigint (int8) read as a number like PGlite does. */
const int8AsNumber = ((oid: number, format: 'text' | 'binary' = 'text'): unknown =>
  oid === INT8_OID
    ? Number
    : (pg.types.getTypeParser as (oid: number, format: string) => unknown)(
        oid,
        format,
      )) as typeof pg.types.getTypeParser;

/** Reads a `--database` value: a postgres:// URL, or nothing for the embedded database in `dataDir`. */
export function databaseLocation(url: string | undefined, embeddedDir: string): DatabaseLocation {
  if (url === undefined || url === '') return { kind: 'pglite', dataDir: embeddedDir };
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new DatabaseError(`--database must be a postgres:// URL (got "${redactUrl(url)}")`);
  }
  return { kind: 'postgres', url };
}

/** Removes the password from a database URL before it is shown anywhere. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * Opens the site database and brings its schema up to date with the numbered migrations. bigint
 * columns are read as numbers on both back ends (they hold sequences and counts far below 2^53).
 */
export async function openSiteDatabase(
  location: DatabaseLocation,
  options: { migrate?: boolean; poolSize?: number } = {},
): Promise<SiteDatabaseHandle> {
  const db =
    location.kind === 'pglite'
      ? new Kysely<SiteDatabase>({
          dialect: new PGliteDialect({ pglite: await openPglite(location.dataDir) }),
        })
      : new Kysely<SiteDatabase>({
          dialect: new PostgresDialect({
            pool: new pg.Pool({
              connectionString: location.url,
              max: options.poolSize ?? 8,
              types: { getTypeParser: int8AsNumber },
            }),
          }),
        });
  try {
    if (options.migrate !== false) await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, location, close: () => db.destroy() };
}

async function openPglite(dataDir: string): Promise<PGlite> {
  const pglite = new PGlite({ dataDir, parsers: { [INT8_OID]: Number } });
  await pglite.waitReady;
  return pglite;
}

export async function migrateToLatest(db: Kysely<SiteDatabase>): Promise<void> {
  const migrator = new Migrator({ db, provider: siteMigrations });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) {
    throw new DatabaseError('the site database could not be migrated', { cause: error });
  }
}
