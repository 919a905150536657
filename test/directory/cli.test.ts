/**
 * `steward directory schema | publish | check | lookup` as an administrator runs them: one JSON
 * document with --json, `error CODE: message` and a non-zero status on failure. Publishing reads a
 * real site's data folder (site init, one boundary) and the result verifies against its root.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AclReport, PublishResult, SiteLookupResult } from '../../src/directory/index.js';
import { createBoundary } from '../../src/site/boundaries/index.js';
import { databaseLocation, openSiteDatabase } from '../../src/site/database/open.js';
import { initCentralSite } from '../../src/site/init/site-init.js';
import { trustRootFromPin, verifySiteCertificate } from '../../src/trust/index.js';
import { slapdSkipReason, startSlapd, type TestAccount, type TestSlapd } from '../support/slapd.js';
import { testKeyFileCost } from '../support/site-fixture.js';
import { stewardDirectory } from './support/directory-cli.js';

describe('steward directory schema', () => {
  it('prints the OpenLDAP LDIF, or one JSON document with --json', async () => {
    const plain = await stewardDirectory(['schema', '--format', 'openldap']);
    expect(plain.code).toBe(0);
    expect(plain.stdout.split('\n').filter((l) => l.startsWith('dn:'))).toEqual([
      'dn: cn=steward,cn=schema,cn=config',
    ]);
    const json = await stewardDirectory(['schema', '--format', 'ad', '--json']);
    const parsed = JSON.parse(json.stdout) as { format: string; arc: string; ldif: string };
    expect(parsed).toMatchObject({ format: 'ad', arc: '1.3.6.1.4.1.32473.1' });
    expect(parsed.ldif).toContain('schemaUpdateNow: 1');
  });

  it('refuses an unknown format with the error line of the command-line contract', async () => {
    const result = await stewardDirectory(['schema', '--format', 'edirectory']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error ERR_USAGE: --format is openldap or ad\n');
  });
});

describe.skipIf(slapdSkipReason() !== undefined)(
  'steward directory publish, lookup and check (slapd)',
  () => {
    let slapd: TestSlapd;
    let abc: TestAccount;
    let dir: string;
    let rootFingerprint: string;
    const connection = () => ['--url', slapd.url, '--base-dn', slapd.baseDn];
    const as = (account: TestAccount) => [
      ...connection(),
      '--bind-dn',
      account.dn,
      '--password-file',
      account.passwordFile,
    ];

    beforeAll(async () => {
      slapd = await startSlapd();
      abc = slapd.siteSystems[0]!;
      dir = await mkdtemp(join(tmpdir(), 'steward-directory-cli-'));
      const site = await initCentralSite({
        dataDir: join(dir, 'site'),
        code: 'ABC',
        name: 'Head office',
        listen: '127.0.0.1:8430',
        publicUrl: null,
        database: null,
        passphrase: null,
        approval: 'token',
        now: new Date(),
        keyFileCost: testKeyFileCost,
      });
      rootFingerprint = site.rootFingerprint;
      const database = await openSiteDatabase(databaseLocation(undefined, join(dir, 'site', 'database')));
      try {
        await createBoundary(database.db, { siteCode: 'ABC', value: '198.51.100.0/24' });
      } finally {
        await database.close();
      }
    });
    afterAll(async () => {
      await slapd.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('publishes a site from its data folder; lookup finds it and its certificate verifies (C1, C2)', async () => {
      const published = await stewardDirectory([
        'publish',
        ...as(abc),
        '--data',
        join(dir, 'site'),
        '--json',
      ]);
      expect(published.stderr).toBe('');
      const result = JSON.parse(published.stdout) as PublishResult & { siteCode: string };
      expect(result.siteCode).toBe('ABC');
      expect(result.created.map((dn) => dn.split(',')[0])).toEqual([
        'cn=Steward-Site-ABC',
        'cn=Steward-Root-ABC',
        'cn=Steward-MP-ABC-MP1',
        'cn=Steward-SLP-ABC-SLP1',
      ]);
      const lookup = await stewardDirectory([
        'lookup',
        ...connection(),
        '--address',
        '198.51.100.7',
        '--json',
      ]);
      const found = JSON.parse(lookup.stdout) as SiteLookupResult;
      const site = found.sites[0]!;
      const root = trustRootFromPin(site.rootChain, rootFingerprint, new Date());
      expect(verifySiteCertificate(site.siteCertificate, root, new Date(), 'ABC').payload.siteName).toBe(
        'Head office',
      );
    });

    it('check exits 0 on the minimal rules and 1, with ERR_DIRECTORY_ACLS and the fix, on loose ones', async () => {
      const other = slapd.siteSystems[1]!;
      const args = [
        'check',
        ...as(abc),
        '--other-bind-dn',
        other.dn,
        '--other-password-file',
        other.passwordFile,
      ];
      const good = await stewardDirectory([...args, '--json']);
      expect(good.code).toBe(0);
      expect((JSON.parse(good.stdout) as AclReport).passed).toBe(true);
      const container = `cn=System Management,cn=System,${slapd.baseDn}`;
      await slapd.setAcls([
        'to attrs=userPassword by self write by anonymous auth by * none',
        `to dn.subtree="${container}" by * write`,
        'to * by * read',
      ]);
      const bad = await stewardDirectory(args);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^error ERR_DIRECTORY_ACLS: \d+ checks failed/);
      expect(bad.stdout).toContain('FAIL    other-site-system-cannot-modify');
      expect(bad.stdout).toContain('olcAccess: {2}to dn.children=');
    });

    it('reports a wrong password as ERR_DIRECTORY_BIND', async () => {
      const result = await stewardDirectory([
        'unpublish',
        ...connection(),
        '--bind-dn',
        abc.dn,
        '--password-file',
        slapd.user.passwordFile,
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error ERR_DIRECTORY_BIND: /);
    });
  },
);
