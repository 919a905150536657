/**
 * The site database over TLS (docs/tls.md): a private PostgreSQL cluster started with ssl=on and a
 * server certificate from a test CA. `sslmode=verify-full&sslrootcert=FILE` connects (and
 * pg_stat_ssl says the channel is TLS); a wrong CA or a wrong host name is refused; a site that
 * requires TLS refuses a plain connection; site.json keeps the requirement.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCentralSite } from '../../src/site/init/site-init.js';
import { databaseLocation, openSiteDatabase } from '../../src/site/database/open.js';
import { SigningKey } from '../../src/trust/index.js';
import { createHierarchyCa, issueServerCertificate } from '../../src/trust/tls/index.js';
import { freePort } from '../support/site-process.js';
import {
  canStartPostgresCluster,
  startPostgresCluster,
  writeClusterFile,
  type PostgresCluster,
} from '../support/postgres.js';
import { runSteward, startSteward, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';
import { testKeyFileCost } from './support/https-site.js';

const skip = !canStartPostgresCluster();

let cluster: PostgresCluster | undefined;
let work: string;
let caFile: string;
let otherCaFile: string;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'connected',
    (error: unknown) => (error as { code?: string }).code ?? 'no code',
  );
}

function urlFor(parameters: string, host = '127.0.0.1', database = 'postgres'): string {
  return `postgres://postgres@${host}:${cluster?.port ?? 0}/${database}${parameters === '' ? '' : `?${parameters}`}`;
}

describe.skipIf(skip)('PostgreSQL over TLS', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'steward-pg-tls-'));
    const now = new Date();
    const ca = await createHierarchyCa({ rootSigners: [SigningKey.generate()], siteCode: 'PGT', now });
    const other = await createHierarchyCa({ rootSigners: [SigningKey.generate()], siteCode: 'PGT', now });
    const server = await issueServerCertificate(ca, {
      commonName: 'postgres',
      ipAddresses: ['127.0.0.1'],
      now,
    });
    caFile = join(work, 'ca.pem');
    otherCaFile = join(work, 'other-ca.pem');
    await writeFile(caFile, ca.caCertificatePem);
    await writeFile(otherCaFile, other.caCertificatePem);
    cluster = await startPostgresCluster({
      settings: { ssl: 'on', ssl_cert_file: 'server.crt', ssl_key_file: 'server.key' },
      prepare: async (dataDir) => {
        await writeClusterFile(dataDir, 'server.crt', server.certificatePem);
        await writeClusterFile(dataDir, 'server.key', server.keyPem);
      },
    });
  }, 120_000);

  afterAll(async () => {
    await stopAllStewardProcesses();
    await cluster?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('connects with sslmode=verify-full and the CA file, over a TLS channel', async () => {
    const handle = await openSiteDatabase(
      databaseLocation(urlFor(`sslmode=verify-full&sslrootcert=${caFile}`), ''),
      { requireTls: true },
    );
    try {
      const result = await sql<{ ssl: boolean; version: string }>`
        select ssl, version from pg_stat_ssl where pid = pg_backend_pid()`.execute(handle.db);
      expect(result.rows[0]?.ssl).toBe(true);
      expect(result.rows[0]?.version).toMatch(/^TLSv1\.[23]$/);
      // The migrations ran over it.
      await handle.db.selectFrom('tls_authorities').select('version').execute();
    } finally {
      await handle.close();
    }
  });

  it('refuses a server certificate from another CA, or for another host name', async () => {
    const wrongCa = openSiteDatabase(
      databaseLocation(urlFor(`sslmode=verify-full&sslrootcert=${otherCaFile}`), ''),
      { migrate: false },
    );
    expect(await codeOf(wrongCa)).toBe('ERR_DATABASE_TLS');
    // The certificate names 127.0.0.1 only: verify-full refuses "localhost", verify-ca does not check names.
    const wrongName = openSiteDatabase(
      databaseLocation(urlFor(`sslmode=verify-full&sslrootcert=${caFile}`, 'localhost'), ''),
      { migrate: false },
    );
    expect(await codeOf(wrongName)).toBe('ERR_DATABASE_TLS');
    const caOnly = await openSiteDatabase(
      databaseLocation(urlFor(`sslmode=verify-ca&sslrootcert=${caFile}`, 'localhost'), ''),
      { migrate: false, requireTls: true },
    );
    await caOnly.close();
  });

  it('refuses a connection that is not TLS when TLS is required', async () => {
    // The server also accepts plain connections: the requirement is the site's.
    const plain = await openSiteDatabase(databaseLocation(urlFor(''), ''), { migrate: false });
    const ssl = await sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(
      plain.db,
    );
    expect(ssl.rows[0]?.ssl).toBe(false);
    await plain.close();
    expect(await codeOf(openSiteDatabase(databaseLocation(urlFor(''), ''), { requireTls: true }))).toBe(
      'ERR_DATABASE_TLS',
    );
    expect(
      await codeOf(openSiteDatabase(databaseLocation(urlFor('sslmode=disable'), ''), { requireTls: true })),
    ).toBe('ERR_DATABASE_TLS');
    // Encrypted but unauthenticated (no CA) is not enough either.
    expect(
      await codeOf(openSiteDatabase(databaseLocation(urlFor('sslmode=require'), ''), { requireTls: true })),
    ).toBe('ERR_DATABASE_TLS');
    expect(await codeOf(openSiteDatabase(databaseLocation(urlFor('sslmode=prefer'), ''), {}))).toBe(
      'ERR_DATABASE_TLS',
    );
    expect(
      await codeOf(openSiteDatabase(databaseLocation(urlFor('sslmode=verify-full'), ''), { migrate: false })),
    ).toBe('ERR_DATABASE_TLS');
  });

  it('keeps the requirement in site.json: the site starts over TLS and refuses a plain URL', async () => {
    const setup = await openSiteDatabase(
      databaseLocation(urlFor(`sslmode=verify-full&sslrootcert=${caFile}`), ''),
      { migrate: false },
    );
    await sql.raw('create database steward_tls_site').execute(setup.db);
    await setup.close();
    const dataDir = join(work, 'site');
    const port = await freePort();
    const database = urlFor(`sslmode=verify-full&sslrootcert=${caFile}`, '127.0.0.1', 'steward_tls_site');
    await initCentralSite({
      dataDir,
      code: 'PGT',
      name: 'Site PGT',
      listen: `127.0.0.1:${port}`,
      publicUrl: null,
      database,
      databaseRequireTls: true,
      passphrase: null,
      approval: 'token',
      now: new Date(),
      keyFileCost: testKeyFileCost,
    });
    const configPath = join(dataDir, 'site.json');
    const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ database, databaseRequireTls: true });

    const site = startSteward(['site', 'start', '--data', dataDir]);
    await waitUntil(
      async () => {
        if (!site.running()) throw new Error(`the site server exited: ${site.stderr()}`);
        return (await fetch(`http://127.0.0.1:${port}/health`)).ok;
      },
      'the site server on a TLS database',
      60_000,
    );
    await site.stop();

    await writeFile(
      configPath,
      JSON.stringify({ ...config, database: urlFor('', '127.0.0.1', 'steward_tls_site') }),
    );
    const refused = await runSteward(['site', 'start', '--data', dataDir]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/^error ERR_DATABASE_TLS: /m);
  }, 120_000);
});
