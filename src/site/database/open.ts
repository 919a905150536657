import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import pg from 'pg';
import { DatabaseError, DatabaseTlsError } from '../site-errors.js';
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

/** The libpq `sslmode` values Steward accepts (docs/tls.md). */
export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/** How pg connects: the URL without the TLS parameters, and pg's `ssl` option built from them. */
export interface PostgresConnection {
  connectionString: string;
  sslMode: SslMode;
  ssl: false | ConnectionOptions;
}

const sslParameters = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'sslpassword'] as const;

/**
 * Maps the libpq TLS parameters of a postgres:// URL to pg's `ssl` option explicitly (pg's own URL
 * parsing treats `require` like `verify-full` and reads files on its own): `disable` (or none) is
 * plain; `require` encrypts without checking the server, unless `sslrootcert` is given, when it
 * checks the CA as libpq does; `verify-ca` checks the certificate against `sslrootcert`;
 * `verify-full` also checks the host name. `sslrootcert=system` uses node's CA store; `sslcert`
 * and `sslkey` present a client certificate. `prefer` and `allow` (silent fallback to plain) are
 * refused. ERR_DATABASE_TLS when a parameter is wrong or a file cannot be read.
 */
export function postgresConnection(url: string): PostgresConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new DatabaseTlsError(`--database is not a valid URL (${redactUrl(url)})`, { cause });
  }
  const parameter = (name: (typeof sslParameters)[number]) => parsed.searchParams.get(name) ?? undefined;
  const mode = parameter('sslmode') ?? (parameter('ssl') === 'true' ? 'verify-full' : 'disable');
  const rootCert = parameter('sslrootcert');
  const clientCert = parameter('sslcert');
  const clientKey = parameter('sslkey');
  for (const name of sslParameters) parsed.searchParams.delete(name);
  const connectionString = parsed.toString();
  if (mode !== 'disable' && mode !== 'require' && mode !== 'verify-ca' && mode !== 'verify-full') {
    throw new DatabaseTlsError(
      `sslmode=${mode.slice(0, 32)} is not supported: use verify-full (or verify-ca, require, disable)`,
    );
  }
  if (mode === 'disable') return { connectionString, sslMode: mode, ssl: false };
  const ssl: ConnectionOptions = { minVersion: 'TLSv1.2' };
  if ((mode === 'verify-ca' || mode === 'verify-full') && rootCert === undefined) {
    throw new DatabaseTlsError(
      `sslmode=${mode} needs sslrootcert=FILE, the CA certificate that issued the server's certificate`,
    );
  }
  if (rootCert !== undefined && rootCert !== 'system') ssl.ca = readPem(rootCert, 'sslrootcert');
  if (mode === 'require' && rootCert === undefined) {
    ssl.rejectUnauthorized = false;
  } else {
    ssl.rejectUnauthorized = true;
    // verify-ca (and require with a CA file, as libpq does) checks the chain but not the host name.
    if (mode !== 'verify-full') ssl.checkServerIdentity = () => undefined;
  }
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new DatabaseTlsError('sslcert and sslkey are given together');
  }
  if (clientCert !== undefined && clientKey !== undefined) {
    ssl.cert = readPem(clientCert, 'sslcert');
    ssl.key = readPem(clientKey, 'sslkey');
  }
  return { connectionString, sslMode: mode, ssl };
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DatabaseTlsError(`${what}=${path.slice(0, 200)} cannot be read`, { cause });
  }
}

export interface OpenSiteDatabaseOptions {
  migrate?: boolean;
  poolSize?: number;
  /**
   * Refuse a PostgreSQL connection that is not TLS with a verified server certificate
   * (`sslmode=verify-full` or `verify-ca`); checked on the server with pg_stat_ssl. The embedded
   * database has no network channel and is not affected.
   */
  requireTls?: boolean;
}

/**
 * Opens the site database and brings its schema up to date with the numbered migrations. bigint
 * columns are read as numbers on both back ends (they hold sequences and counts far below 2^53).
 */
export async function openSiteDatabase(
  location: DatabaseLocation,
  options: OpenSiteDatabaseOptions = {},
): Promise<SiteDatabaseHandle> {
  const connection = location.kind === 'postgres' ? postgresConnection(location.url) : undefined;
  if (
    connection !== undefined &&
    options.requireTls === true &&
    connection.sslMode !== 'verify-full' &&
    connection.sslMode !== 'verify-ca'
  ) {
    throw new DatabaseTlsError(
      `this site requires TLS to its database: add sslmode=verify-full&sslrootcert=FILE to the --database URL (it has sslmode=${connection.sslMode})`,
    );
  }
  const db =
    location.kind === 'pglite'
      ? new Kysely<SiteDatabase>({
          dialect: new PGliteDialect({ pglite: await openPglite(location.dataDir) }),
        })
      : new Kysely<SiteDatabase>({
          dialect: new PostgresDialect({
            pool: postgresPool(connection ?? postgresConnection(location.url), options.poolSize ?? 8),
          }),
        });
  try {
    if (connection !== undefined && (connection.ssl !== false || options.requireTls === true)) {
      await checkTlsChannel(db, connection, location, options.requireTls === true);
    }
    if (options.migrate !== false) await migrateToLatest(db);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  return { db, location, close: () => db.destroy() };
}

/**
 * A pg pool that survives the server going away (a restart, a failover): pg emits `error` on an idle
 * pooled client, and on a checked-out one between queries, when its connection drops; without a
 * listener that event would end the site server. The pool drops such clients itself, and the query
 * that was running fails with an error the HTTP layer answers as 503 ERR_DATABASE (retryable), so
 * the site recovers without an operator once the server is back.
 */
function postgresPool(connection: PostgresConnection, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: connection.connectionString,
    ssl: connection.ssl,
    max,
    types: { getTypeParser: int8AsNumber },
    // A server that is down answers at once (ECONNREFUSED); one that hangs must not hold requests forever.
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Connects once and asks the server whether this connection is TLS (pg_stat_ssl). A failed TLS
 * handshake (wrong CA, wrong host name, no TLS on the server) is ERR_DATABASE_TLS, naming the cause.
 */
async function checkTlsChannel(
  db: Kysely<SiteDatabase>,
  connection: PostgresConnection,
  location: DatabaseLocation,
  required: boolean,
): Promise<void> {
  let encrypted: boolean;
  try {
    const result = await sql<{
      ssl: boolean;
    }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(db);
    encrypted = result.rows[0]?.ssl === true;
  } catch (cause) {
    if (connection.ssl === false) throw new DatabaseError('the site database cannot be reached', { cause });
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new DatabaseTlsError(
      `the TLS connection to the database ${redactUrl(location.kind === 'postgres' ? location.url : '')} failed: ${reason.slice(0, 300)}`,
      { cause },
    );
  }
  if (required && !encrypted) {
    throw new DatabaseTlsError(
      'the database connection is not TLS, and this site requires TLS to its database',
    );
  }
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
