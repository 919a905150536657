/**
 * The audit's directory checks against a real slapd (test/support/slapd.ts): a site that uses the
 * directory, with minimal access rules, directory sign-in for its administrators and everything
 * else hardened passes every check of the audit; loose access rules fail `directory-schema-acls`
 * with the olcAccess lines to set; a directory without group grants fails `admin-directory-sign-in`;
 * an unreachable directory fails with the reason.
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securityChecks, type SecurityAuditReport } from '../../src/audit/index.js';
import {
  createAccount,
  disableAccount,
  findAccountByName,
  grantRights,
  issueApiToken,
} from '../../src/admin/identity/index.js';
import { openLdapAccessRules } from '../../src/directory/index.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { slapdSkipReason, startSlapd, type TestSlapd } from '../support/slapd.js';
import { startDirectorySite, type DirectorySite } from '../directory/support/directory-site.js';
import { checkOf } from './audit-site.js';

const skip = slapdSkipReason();

describe.skipIf(skip !== undefined)(
  'the security audit with a directory (slapd)',
  { timeout: 120_000 },
  () => {
    let slapd: TestSlapd;
    let site: DirectorySite;
    let auditor: string;
    const audit = () => site.api<SecurityAuditReport>('GET', '/audit/security', undefined, auditor);

    beforeAll(async () => {
      slapd = await startSlapd();
      site = await startDirectorySite(slapd);
      const db = site.running.database.db;
      // Administrators come from the directory: a group holds the full-administrator right.
      await site.api('POST', '/directory/group-rights/grant', {
        groupDn: `cn=Steward Admins,ou=groups,${slapd.baseDn}`,
        objectClass: 'site',
        rights: ['administer'],
      });
      // Hardened otherwise: root key offline, the MP on its own host, the local admin disabled, and
      // an auditor that may read the site with a one-day token and no password.
      await rename(siteDataLayout(site.dataDir).rootKey(1), join(site.dir, 'offline-root-1.key'));
      await db
        .updateTable('site_systems')
        .set({ embedded: false })
        .where('role', '=', 'management-point')
        .execute();
      const account = await createAccount(db, { name: 'auditor' });
      await grantRights(db, account.id, 'site', '*', ['read']);
      auditor = (
        await issueApiToken(db, account.id, {
          name: 'audit',
          expiresAt: new Date(Date.now() + 24 * 3600 * 1000),
        })
      ).token;
      await disableAccount(db, (await findAccountByName(db, 'admin'))!.id);
    });
    afterAll(async () => {
      await site.stop();
      await slapd.stop();
    });

    it('passes every check on a hardened site that uses the directory', async () => {
      const report = await audit();
      expect(report.checks.filter((c) => c.result !== 'pass').map((c) => [c.id, c.evidence])).toEqual([]);
      expect(report.summary).toEqual({ pass: securityChecks.length, warn: 0, fail: 0 });
      expect(report.passed).toBe(true);
      const directory = checkOf(report, 'directory-schema-acls');
      expect(directory.evidence).toContain(`checked as uid=steward-ABC`);
      // The audit holds only the site's own account: the second-site-system probe is named, not counted.
      expect(directory.evidence).toContain('Not tried here: other-site-system-cannot-change');
      expect(checkOf(report, 'admin-directory-sign-in').evidence).toContain('with 1 group grant');
      // The account password of the site system is never shown.
      const password = slapd.siteSystems.find((a) => a.name === 'steward-ABC')!.password;
      expect(JSON.stringify(report)).not.toContain(password);
    });

    it('fails directory-schema-acls on loose access rules, with the olcAccess lines to set', async () => {
      const container = `cn=System Management,cn=System,${slapd.baseDn}`;
      await slapd.setAcls([
        'to attrs=userPassword by self write by anonymous auth by * none',
        `to dn.subtree="${container}" by * write`,
        'to * by * read',
      ]);
      try {
        const finding = checkOf(await audit(), 'directory-schema-acls');
        expect(finding.result).toBe('fail');
        expect(finding.evidence).toContain('container-not-writable');
        for (const [index, rule] of openLdapAccessRules(slapd.baseDn).entries()) {
          expect(finding.fix).toContain(`olcAccess: {${index}}${rule}`);
        }
      } finally {
        await slapd.setAcls(openLdapAccessRules(slapd.baseDn));
      }
    });

    it('fails admin-directory-sign-in when no directory group holds a right', async () => {
      const db = site.running.database.db;
      const grants = await db.selectFrom('directory_group_rights').selectAll().execute();
      await db.deleteFrom('directory_group_rights').execute();
      try {
        const finding = checkOf(await audit(), 'admin-directory-sign-in');
        expect(finding.result).toBe('fail');
        expect(finding.fix).toContain('steward directory grant');
      } finally {
        await db
          .insertInto('directory_group_rights')
          .values(grants.map((g) => ({ ...g, rights: JSON.stringify(g.rights) })))
          .execute();
      }
    });

    it('fails directory-schema-acls with the reason when the directory cannot be reached', async () => {
      const check = securityChecks.find((c) => c.id === 'directory-schema-acls')!;
      const config = site.running.config;
      const finding = await check.run({
        db: site.running.database.db,
        config: { ...config, directory: { ...config.directory!, url: 'ldap://127.0.0.1:1' } },
        configOnDisk: undefined,
        dataDir: site.dataDir,
        url: site.url,
        transport: { scheme: 'http', insecure: false },
        now: new Date(),
      });
      expect(finding.result).toBe('fail');
      expect(finding.evidence).toMatch(
        /could not run against ldap:\/\/127\.0\.0\.1:1 .*ERR_DIRECTORY_UNREACHABLE/,
      );
    });
  },
);
