/**
 * `steward directory check` against a real slapd: it passes on COMPONENTS.md's rules and fails,
 * naming the fix, on deliberately loose ones. It learns everything by trying.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDirectoryAcls, openLdapAccessRules, type AclReport } from '../../src/directory/index.js';
import { slapdSkipReason, startSlapd, type TestAccount, type TestSlapd } from '../support/slapd.js';

const skip = slapdSkipReason();

function results(report: AclReport): Record<string, string> {
  return Object.fromEntries(report.findings.map((f) => [f.check, f.result]));
}

describe.skipIf(skip !== undefined)('directory check (slapd)', () => {
  let slapd: TestSlapd;
  let abc: TestAccount;
  let def: TestAccount;
  const probes = () => ({
    otherSiteSystem: { bindDn: def.dn, passwordFile: def.passwordFile },
    ordinaryUser: { bindDn: slapd.user.dn, password: slapd.user.password },
  });

  beforeAll(async () => {
    slapd = await startSlapd();
    [abc, def] = slapd.siteSystems as [TestAccount, TestAccount];
  });
  afterAll(async () => {
    await slapd.stop();
  });

  it('passes every check on the minimal rules of COMPONENTS.md', async () => {
    const report = await checkDirectoryAcls(slapd.config(abc), probes());
    expect(report.findings.filter((f) => f.result !== 'pass')).toEqual([]);
    expect(report.passed).toBe(true);
    expect(Object.keys(results(report))).toEqual([
      'transport',
      'schema',
      'container',
      'site-system-can-create',
      'site-system-can-modify-own',
      'container-not-writable',
      'other-site-system-cannot-modify',
      'other-site-system-cannot-delete',
      'ordinary-user-can-read',
      'ordinary-user-sees-writer',
      'ordinary-user-cannot-create',
      'ordinary-user-cannot-modify',
      'ordinary-user-cannot-delete',
      'anonymous-can-read',
      'anonymous-sees-writer',
      'anonymous-cannot-create',
      'anonymous-cannot-modify',
      'anonymous-cannot-delete',
      'site-system-can-delete-own',
    ]);
  });

  it('warns when no second site system is given to try', async () => {
    const report = await checkDirectoryAcls(slapd.config(abc));
    expect(report.findings.find((f) => f.check === 'other-site-system-cannot-change')).toMatchObject({
      result: 'warn',
    });
    expect(report.passed).toBe(true);
  });

  it('fails with the olcAccess fix when everyone may write (by * write)', async () => {
    const container = `cn=System Management,cn=System,${slapd.baseDn}`;
    await slapd.setAcls([
      'to attrs=userPassword by self write by anonymous auth by * none',
      `to dn.subtree="${container}" by * write`,
      'to * by * read',
    ]);
    try {
      const report = await checkDirectoryAcls(slapd.config(abc), probes());
      expect(report.passed).toBe(false);
      const failed = report.findings.filter((f) => f.result === 'fail').map((f) => f.check);
      expect(failed).toEqual(
        expect.arrayContaining([
          'container-not-writable',
          'other-site-system-cannot-modify',
          'other-site-system-cannot-delete',
          'ordinary-user-cannot-create',
          'ordinary-user-cannot-modify',
          'ordinary-user-cannot-delete',
        ]),
      );
      // slapd refuses every update from an anonymous session unless "allow update_anon" is set.
      expect(results(report)['anonymous-cannot-create']).toBe('pass');
      const fix = report.findings.find((f) => f.check === 'other-site-system-cannot-modify')!.fix;
      for (const [index, rule] of openLdapAccessRules(slapd.baseDn).entries())
        expect(fix).toContain(`olcAccess: {${index}}${rule}`);
      expect(report.findings.find((f) => f.check === 'site-system-can-delete-own')?.result).toBe('pass');
    } finally {
      await slapd.setAcls(openLdapAccessRules(slapd.baseDn));
    }
  });

  it('fails when site systems may not create entries', async () => {
    const container = `cn=System Management,cn=System,${slapd.baseDn}`;
    await slapd.setAcls([
      'to attrs=userPassword by self write by anonymous auth by * none',
      `to dn.children="${container}" by dnattr=creatorsName write by * read`,
      'to * by * read',
    ]);
    try {
      const report = await checkDirectoryAcls(slapd.config(abc), probes());
      expect(results(report)['site-system-can-create']).toBe('fail');
      expect(report.passed).toBe(false);
    } finally {
      await slapd.setAcls(openLdapAccessRules(slapd.baseDn));
    }
  });
});
