import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, createTestDatabase, postgresSkipReason } from '../support/postgres.js';
import { startSteward, steward, stewardJson, stopProcess, waitUntil } from './steward-cli.js';

const skipPostgres = await postgresSkipReason();

/**
 * Issue 3, done when: an administrator drives a site entirely through the CLI, on the embedded
 * database and on PostgreSQL: site init, site start, package create, collection create,
 * deployment create, client list, deployment status, trust show, audit-log verify.
 */
for (const backend of ['pglite', 'postgres'] as const) {
  describe.skipIf(backend === 'postgres' && skipPostgres !== undefined)(`the admin CLI on ${backend}`, () => {
    const cleanup: (() => Promise<unknown>)[] = [];
    let site: ChildProcess | undefined;
    afterAll(async () => {
      if (site !== undefined) await stopProcess(site);
      for (const step of cleanup.reverse()) await step();
    });

    it('runs a site from init to deployment status', async () => {
      const root = await mkdtemp(join(tmpdir(), 'steward-cli-'));
      cleanup.push(() => rm(root, { recursive: true, force: true }));
      const port = await freePort();
      const dataDir = join(root, 'site');
      const initArgs = ['site', 'init', '--data', dataDir, '--code', 'CLI', '--listen', `127.0.0.1:${port}`];
      if (backend === 'postgres') {
        const database = await createTestDatabase('steward_cli');
        if ('skip' in database) throw new Error(database.skip);
        cleanup.push(() => database.drop());
        initArgs.push('--database', database.url);
      }
      const init = await stewardJson<{
        siteCode: string;
        rootFingerprint: string;
        enrolmentToken: string;
        url: string;
      }>(initArgs);
      expect(init.siteCode).toBe('CLI');
      expect(init.rootFingerprint).toMatch(/^sha256:[0-9a-f]{32}$/);
      expect(init.enrolmentToken).toMatch(/^enr_/);

      site = startSteward(['site', 'start', '--data', dataDir]);
      await waitUntil(async () => (await fetch(`${init.url}/health`)).ok, 30_000, 'the site');

      const second = await steward(['site', 'start', '--data', dataDir]);
      expect(second.code).not.toBe(0);
      expect(second.stderr).toMatch(/^error ERR_DATA_FOLDER_LOCKED: /m);

      const source = join(root, 'source');
      await mkdir(join(source, 'bin'), { recursive: true });
      await writeFile(join(source, 'install.sh'), 'echo installed\n');
      await writeFile(join(source, 'bin', 'tool'), 'binary-ish\n');
      const pkg = await stewardJson<{
        packageId: string;
        fileCount: number;
        totalSize: number;
        manifestHash: string;
      }>([
        'package',
        'create',
        '--data',
        dataDir,
        '--source',
        source,
        '--name',
        'tool',
        '--version',
        '2.1',
        '--program',
        'install=sh install.sh',
      ]);
      expect(pkg.fileCount).toBe(2);
      expect(pkg.totalSize).toBe(26);
      expect(pkg.manifestHash).toMatch(/^[0-9a-f]{64}$/);

      const collection = await stewardJson<{ id: string; memberCount: number }>([
        'collection',
        'create',
        '--data',
        dataDir,
        '--name',
        'linux machines',
        '--rule',
        'os.family = "linux"',
      ]);
      const badRule = await steward([
        'collection',
        'create',
        '--data',
        dataDir,
        '--name',
        'broken',
        '--rule',
        'os.family = ',
      ]);
      expect(badRule.stderr).toMatch(/^error ERR_COLLECTION_RULE: /m);

      const deployment = await stewardJson<{ id: string; summary: { targeted: number } }>([
        'deployment',
        'create',
        '--data',
        dataDir,
        '--package',
        pkg.packageId,
        '--program',
        'install',
        '--collection',
        collection.id,
        '--mandatory',
      ]);
      expect(deployment.summary.targeted).toBe(0);

      const clients = await stewardJson<unknown[]>(['client', 'list', '--data', dataDir]);
      expect(clients).toEqual([]);
      const status = await stewardJson<{ id: string; summary: { targeted: number } }>([
        'deployment',
        'status',
        deployment.id,
        '--data',
        dataDir,
      ]);
      expect(status.id).toBe(deployment.id);

      const changed = await stewardJson<{ policyVersion: number; state: string }>([
        'deployment',
        'update',
        deployment.id,
        '--data',
        dataDir,
        '--disable',
      ]);
      expect(changed).toMatchObject({ policyVersion: 2, state: 'disabled' });

      const trust = await stewardJson<{ root: { keys: { fingerprint: string }[] }[] }>([
        'trust',
        'show',
        '--data',
        dataDir,
      ]);
      expect(trust.root[0]?.keys[0]?.fingerprint).toBe(init.rootFingerprint);
      const audit = await stewardJson<{ ok: boolean; entries: number }>([
        'audit-log',
        'verify',
        '--data',
        dataDir,
      ]);
      expect(audit.ok).toBe(true);
      expect(audit.entries).toBeGreaterThanOrEqual(5);

      const missing = await steward(['deployment', 'status', 'no-such-deployment', '--data', dataDir]);
      expect(missing.stderr).toMatch(/^error ERR_NOT_FOUND: /m);
      const unauthorised = await steward(['client', 'list', '--site', init.url], {
        STEWARD_TOKEN: 'stw_wrong',
      });
      expect(unauthorised.stderr).toMatch(/^error ERR_UNAUTHENTICATED: /m);

      expect(await stopProcess(site)).toBe(0);
      site = undefined;
    }, 120_000);
  });
}
