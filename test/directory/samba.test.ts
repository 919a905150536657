/**
 * The same publish, lookup, S4 and ACL checks against a real Samba Active Directory domain
 * controller (test/support/samba.ts), when one can start here. Samba takes the standard ports, so
 * every Samba test lives in this one file; when the DC cannot start, the reason is printed.
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkDirectoryAcls,
  lookupManagementPoints,
  selfIdentity,
  lookupSiteForAddresses,
  publishSiteEntries,
  schemaInstalled,
  unpublishSiteEntries,
  withDirectorySession,
} from '../../src/directory/index.js';
import { SdFlagsControl } from '../../src/directory/lookup/security-descriptor.js';
import {
  daclOnlyDescriptor,
  fullControl,
  ownerOnlyDescriptor,
} from './support/security-descriptor-builder.js';
import { fingerprintOf, verifyMpCertificate, verifySiteCertificate } from '../../src/trust/index.js';
import { locateInDirectory } from '../../src/agent/locate/directory-locator.js';
import { authenticatePassword, grantGroupRights } from '../../src/admin/identity/index.js';
import { findMachineAccount } from '../../src/site/directory/machine-accounts.js';
import { openTestPglite } from '../support/backends.js';
import { ldapModify } from './support/ldap-tools.js';
import { sambaSkipReason, startSambaDc, type TestSambaDc } from '../support/samba.js';
import type { TestAccount } from '../support/slapd.js';
import { createHierarchy, now } from './support/site-pki.js';

let dc: TestSambaDc | undefined;
let skip = await sambaSkipReason();
if (skip === undefined) {
  try {
    dc = await startSambaDc();
  } catch (error) {
    skip = error instanceof Error ? error.message : String(error);
  }
}
if (skip !== undefined) console.warn(`Samba AD tests skipped: ${skip}`);

describe.skipIf(dc === undefined)('directory against Samba Active Directory', () => {
  const server = dc!;
  const [abc, def] = (dc?.siteSystems ?? []) as [TestAccount, TestAccount];
  const pki = createHierarchy();
  const siteAbc = pki.siteCertificate('ABC');
  const mpAbc = pki.mpCertificate('ABC-MP1', 'ABC', ['https://mp1.abc.example.test:8443/']);
  const container = `CN=System Management,CN=System,${dc?.baseDn ?? ''}`;
  afterAll(async () => dc?.stop());

  /** Site systems bind with their user principal name, as a Windows service account would. */
  function upn(account: TestAccount) {
    return { ...server.config(), bindDn: `${account.name}@steward.test`, passwordFile: account.passwordFile };
  }

  async function as(account: TestAccount): Promise<Client> {
    const client = new Client({ url: server.url });
    await client.bind(account.dn, account.password);
    return client;
  }

  it('loads the schema extension into the schema partition', async () => {
    expect(await withDirectorySession(server.config(server.user), schemaInstalled)).toBe(true);
  });

  it('publish then lookup returns envelopes that verify against the root (C1, C2), with the owner as writer', async () => {
    const published = await publishSiteEntries(upn(abc), {
      siteCertificate: siteAbc,
      boundaries: ['10.1.0.0/16', '192.0.2.10-192.0.2.20'],
      rootChain: [pki.rootDocument],
      managementPoints: [{ certificate: mpAbc }],
    });
    expect(published.created).toHaveLength(4);
    const sites = await lookupSiteForAddresses(server.config(server.user), ['192.0.2.11']);
    expect(sites.rejected).toEqual([]);
    expect(sites.sites.map((s) => s.siteCode)).toEqual(['ABC']);
    expect(sites.sites[0]!.writer).toMatchObject({ source: 'owner', name: 'steward-ABC' });
    expect(sites.sites[0]!.rootChain).toEqual([pki.rootDocument]);
    verifySiteCertificate(sites.sites[0]!.siteCertificate, pki.root, now, 'ABC');
    const mps = await lookupManagementPoints(server.config(server.user), 'ABC', {
      verify: { root: pki.root, now },
    });
    expect(mps.managementPoints.map((m) => m.mpName)).toEqual(['ABC-MP1']);
    expect(
      verifyMpCertificate(mps.managementPoints[0]!.certificate, pki.root, now, 'ABC').payload.mpName,
    ).toBe('ABC-MP1');
    const again = await publishSiteEntries(server.config(abc), {
      siteCertificate: siteAbc,
      boundaries: ['10.1.0.0/16', '192.0.2.10-192.0.2.20'],
    });
    expect(again.unchanged).toHaveLength(2);
  });

  it('a second site system can neither modify nor delete the first one’s entries', async () => {
    const mpDn = (await lookupManagementPoints(server.config(server.user), 'ABC')).managementPoints[0]!.dn;
    const client = await as(def);
    try {
      const change = new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'stewardUrl', values: ['https://evil.test/'] }),
      });
      await expect(client.modify(mpDn, [change])).rejects.toMatchObject({ code: 50 });
      await expect(client.del(mpDn)).rejects.toMatchObject({ code: 50 });
    } finally {
      await client.unbind();
    }
    await expect(
      publishSiteEntries(server.config(def), { managementPoints: [{ certificate: mpAbc }] }),
    ).rejects.toMatchObject({
      code: 'ERR_DIRECTORY_CONFLICT',
    });
  });

  it('S4 ignores and reports an entry planted by the wrong writer', async () => {
    const client = await as(def);
    try {
      await client.add(`CN=Planted-Site,${container}`, {
        objectClass: ['stewardSite'],
        cn: ['Planted-Site'],
        stewardSiteCode: ['ABC'],
        stewardSiteCertificate: [siteAbc],
        stewardBoundary: ['0.0.0.0/0'],
      });
    } finally {
      await client.unbind();
    }
    const sites = await lookupSiteForAddresses(server.config(server.user), ['172.16.0.1']);
    expect(sites.sites).toEqual([]);
    expect(sites.rejected.map((r) => [r.dn, r.reason.slice(0, 28)])).toEqual([
      [`CN=Planted-Site,${container}`, 'S4: written by steward-DEF ('],
    ]);
  });

  it('S4 still ignores a planted entry whose owner was rewritten to the system it names', async () => {
    const abcSid = (await withDirectorySession(upn(abc), selfIdentity)).id;
    const defSid = (await withDirectorySession(upn(def), selfIdentity)).id;
    const planted = `CN=Planted-Site,${container}`;
    const client = await as(def);
    const write = (descriptor: Buffer, flags: number) =>
      client
        .modify(
          planted,
          [
            new Change({
              operation: 'replace',
              modification: new Attribute({ type: 'nTSecurityDescriptor', values: [descriptor] }),
            }),
          ],
          [new SdFlagsControl(flags)],
        )
        .then(
          () => 'allowed',
          (error: unknown) => `refused (${String((error as { code?: number }).code)})`,
        );
    try {
      // Without WRITE_OWNER the owner cannot be set directly...
      expect(await write(ownerOnlyDescriptor(abcSid), 1)).toMatch(/^refused/);
      // ...but Samba 4.17 lets the owner rewrite its DACL and then name any owner (Windows does not).
      const dacl = await write(daclOnlyDescriptor([{ mask: fullControl, sid: defSid }]), 4);
      const owner = await write(ownerOnlyDescriptor(abcSid), 1);
      console.info(`Samba: owner rewriting its DACL ${dacl}; then setting another owner ${owner}`);
    } finally {
      await client.unbind();
    }
    const sites = await lookupSiteForAddresses(server.config(server.user), ['172.16.0.1']);
    expect(sites.sites).toEqual([]);
    expect(sites.rejected.map((r) => r.dn)).toEqual([planted]);
    expect(sites.rejected[0]?.reason).toMatch(
      /^S4: its owner or permissions were changed after it was created/,
    );
  });

  it('directory check passes on the ACEs of docs/directory.md', async () => {
    const report = await checkDirectoryAcls(upn(abc), {
      otherSiteSystem: { bindDn: def.dn, passwordFile: def.passwordFile },
      ordinaryUser: { bindDn: server.user.dn, password: server.user.password },
    });
    expect(report.flavor).toBe('ad');
    expect(report.findings.filter((f) => f.result !== 'pass')).toEqual([]);
  });

  it('ldaps validates the domain controller’s certificate against the given CA', async () => {
    const ldaps = {
      ...server.config(server.user),
      url: server.ldapsUrl,
      tls: { mode: 'ldaps' as const, caFile: server.ca.caFile },
    };
    expect((await lookupManagementPoints(ldaps, 'ABC')).managementPoints).toHaveLength(1);
    await expect(
      lookupManagementPoints({ ...ldaps, tls: { mode: 'ldaps', caFile: server.ca.otherCaFile } }, 'ABC'),
    ).rejects.toMatchObject({ code: 'ERR_DIRECTORY_TLS' });
  });

  it('unpublish removes this account’s entries only', async () => {
    const removed = await unpublishSiteEntries(upn(abc));
    expect(removed.removed).toHaveLength(4);
    expect((await lookupManagementPoints(server.config(server.user), 'ABC')).managementPoints).toEqual([]);
  });

  it('directory check fails, with the ACE fix, when Authenticated Users get full control', async () => {
    await publishSiteEntries(server.config(abc), { siteCertificate: siteAbc, boundaries: ['10.1.0.0/16'] });
    await server.addContainerAces('(A;CI;GA;;;AU)');
    const report = await checkDirectoryAcls(server.config(abc), {
      otherSiteSystem: { bindDn: def.dn, passwordFile: def.passwordFile },
      ordinaryUser: { bindDn: server.user.dn, password: server.user.password },
    });
    const failed = report.findings.filter((f) => f.result === 'fail');
    expect(failed.map((f) => f.check)).toEqual(
      expect.arrayContaining([
        'container-not-writable',
        'other-site-system-cannot-modify',
        'other-site-system-cannot-delete',
        'ordinary-user-cannot-create',
      ]),
    );
    expect(failed[0]!.fix).toContain('CREATOR OWNER');
    expect(failed[0]!.fix).toContain('(A;CIIO;RPWPSDLCLORC;;;CO)');
    // The administrator's change reached existing entries by inheritance; they are still accepted.
    expect(
      (await lookupSiteForAddresses(server.config(server.user), ['10.1.2.3'])).sites.map((s) => s.siteCode),
    ).toEqual(['ABC']);
  });

  it('an agent locates its site and MP on AD and takes the root from the directory (C1 rootSource directory)', async () => {
    await publishSiteEntries(server.config(abc), {
      siteCertificate: siteAbc,
      boundaries: ['10.1.0.0/16'],
      rootChain: [pki.rootDocument],
      managementPoints: [{ certificate: mpAbc }],
    });
    const located = await locateInDirectory(server.config(server.user), {
      target: { addresses: ['10.1.2.3'] },
      now,
    });
    expect(located.anchor?.source).toBe('directory');
    expect(located.anchor?.pin).toBe(fingerprintOf(pki.rootKey.keyId));
    expect(located.managementPoints.map((mp) => [mp.mpName, mp.urls])).toEqual([
      ['ABC-MP1', ['https://mp1.abc.example.test:8443/']],
    ]);
    // A pin from another hierarchy does not match the directory's chain (C1).
    await expect(
      locateInDirectory(server.config(server.user), {
        target: { siteCode: 'ABC' },
        pin: fingerprintOf(createHierarchy().rootKey.keyId),
        now,
      }),
    ).rejects.toMatchObject({ code: 'ERR_ROOT_PIN_MISMATCH' });
  });

  it('directory approval finds an enabled computer account by short name or DNS name (S1)', async () => {
    const computer = (name: string, control: number) =>
      `dn: CN=${name},CN=Computers,${server.baseDn}\nobjectClass: computer\nsAMAccountName: ${name}$\n` +
      `dNSHostName: ${name.toLowerCase()}.steward.test\nuserAccountControl: ${control}\n`;
    // 4096: a workstation trust account; 4098: the same, disabled.
    await ldapModify(server.admin, `${computer('PC-OK', 4096)}\n${computer('PC-OFF', 4098)}`);
    const settings = {
      url: server.url,
      baseDn: server.baseDn,
      bindDn: abc.dn,
      passwordFile: abc.passwordFile,
    };
    expect(await findMachineAccount(settings, 'pc-ok')).toBe(`CN=PC-OK,CN=Computers,${server.baseDn}`);
    expect(await findMachineAccount(settings, 'PC-OK.steward.test')).toBe(
      `CN=PC-OK,CN=Computers,${server.baseDn}`,
    );
    expect(await findMachineAccount(settings, 'pc-ok.elsewhere.test')).toBeUndefined();
    expect(await findMachineAccount(settings, 'pc-off')).toBeUndefined();
    expect(await findMachineAccount(settings, 'pc-none')).toBeUndefined();
  });

  // A fresh PGlite database takes a while on a loaded machine.
  it(
    'admin sign-in binds as the AD user and maps its (nested) groups to rights',
    { timeout: 120_000 },
    async () => {
      const groups = `CN=Helpdesk,CN=Users,${server.baseDn}`;
      const admins = `CN=Steward Admins,CN=Users,${server.baseDn}`;
      await ldapModify(
        server.admin,
        `dn: ${groups}\nobjectClass: group\nsAMAccountName: Helpdesk\nmember: ${server.user.dn}\n\n` +
          `dn: ${admins}\nobjectClass: group\nsAMAccountName: Steward Admins\nmember: ${groups}\n`,
      );
      const database = await openTestPglite();
      try {
        await grantGroupRights(database.db, admins, 'package', '*', ['read', 'create']);
        const signIn = {
          settings: {
            url: server.url,
            baseDn: server.baseDn,
            bindDn: abc.dn,
            passwordFile: abc.passwordFile,
          },
        };
        const principal = await authenticatePassword(database.db, 'alice', server.user.password, {
          directory: signIn,
        });
        expect(principal).toMatchObject({ name: 'alice', via: 'directory' });
        expect(principal.grants).toEqual([
          { objectClass: 'package', instanceId: '*', rights: ['create', 'read'] },
        ]);
        await expect(
          authenticatePassword(database.db, 'alice', 'Wrong-passw0rd!', { directory: signIn }),
        ).rejects.toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
        // steward-DEF is a directory user in no granted group.
        await expect(
          authenticatePassword(database.db, def.name, def.password, { directory: signIn }),
        ).rejects.toMatchObject({ code: 'ERR_UNAUTHENTICATED' });
      } finally {
        await database.discard();
      }
    },
  );
});
