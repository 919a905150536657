/**
 * Issue 6, item 6, against the private slapd: administrators who are directory users. A user signs
 * in with its directory password (an LDAP bind as itself); the groups it belongs to are mapped to
 * Steward rights through directory_group_rights; a user whose groups grant nothing is refused, as
 * are wrong and empty passwords. Console sessions of a directory user hold its groups' rights until
 * they are revoked.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlapd, slapdSkipReason, type TestSlapd } from '../support/slapd.js';
import { ldapModify } from './support/ldap-tools.js';
import { stewardDirectory } from './support/directory-cli.js';
import { startDirectorySite, type DirectorySite } from './support/directory-site.js';

const skip = slapdSkipReason();
if (skip !== undefined) console.warn(`slapd tests skipped: ${skip}`);

function basic(name: string, password: string): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`;
}

describe.skipIf(skip !== undefined)('admin sign-in by directory bind (slapd)', { timeout: 60_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  let slapd: TestSlapd;
  let site: DirectorySite;
  let admins: string;
  const bobPassword = 'password-of-bob';

  beforeAll(async () => {
    slapd = await startSlapd();
    cleanups.push(() => slapd.stop());
    admins = `cn=Steward Admins,ou=groups,${slapd.baseDn}`;
    await ldapModify(
      slapd.admin,
      `dn: uid=bob,ou=people,${slapd.baseDn}\nobjectClass: inetOrgPerson\nuid: bob\ncn: bob\nsn: bob\n` +
        `userPassword: ${bobPassword}\n\n` +
        `dn: ${admins}\nobjectClass: groupOfNames\ncn: Steward Admins\nmember: ${slapd.user.dn}\n`,
    );
    site = await startDirectorySite(slapd);
    cleanups.unshift(() => site.stop());
  });
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('a directory user whose group holds rights signs in; without them, or with a wrong password, it is refused', async () => {
    const alice = slapd.user;
    // Before any grant, alice is a directory user with no rights here: refused.
    expect(
      (await site.request('GET', '/api/v1/site', { authorization: basic('alice', alice.password) })).status,
    ).toBe(401);
    // As an administrator would: `steward directory grant --data DIR` against the running site.
    const granted = await stewardDirectory([
      'grant',
      '--data',
      site.dataDir,
      '--group',
      admins.replace('cn=Steward Admins', 'CN=Steward Admins'),
      '--class',
      'site',
      '--rights',
      'read',
      '--json',
    ]);
    expect(granted.code).toBe(0);
    expect(JSON.parse(granted.stdout)).toEqual([
      { groupDn: admins.toLowerCase(), objectClass: 'site', instanceId: '*', rights: ['read'] },
    ]);

    const signedIn = await site.request('GET', '/api/v1/site', {
      authorization: basic('alice', alice.password),
    });
    expect(signedIn.status).toBe(200);
    expect(((await signedIn.json()) as { code: string }).code).toBe('ABC');
    // Read, not administer: the group rights themselves are a full administrator's.
    expect(
      (
        await site.request('GET', '/api/v1/directory/group-rights', {
          authorization: basic('alice', alice.password),
        })
      ).status,
    ).toBe(403);
    // bob binds fine but belongs to no granted group; wrong and empty passwords never bind.
    for (const [name, password] of [
      ['bob', bobPassword],
      ['alice', 'not the password'],
      ['alice', ''],
      ['nobody', 'whatever'],
    ] as const) {
      const refused = await site.request('GET', '/api/v1/site', { authorization: basic(name, password) });
      expect({ name, password, status: refused.status }).toEqual({ name, password, status: 401 });
    }
    const account = await site.running.database.db
      .selectFrom('admin_accounts')
      .select(['name', 'directory_dn', 'password_hash'])
      .where('name', '=', 'alice')
      .executeTakeFirstOrThrow();
    expect(account).toEqual({ name: 'alice', directory_dn: alice.dn, password_hash: null });
    const audit = await site.running.database.db
      .selectFrom('audit_log')
      .select(['actor', 'action'])
      .where('action', 'in', ['account.create', 'directory-group.grant'])
      .orderBy('seq')
      .execute();
    expect(audit).toEqual([
      { actor: 'admin', action: 'directory-group.grant' },
      { actor: 'directory sign-in', action: 'account.create' },
    ]);
  });

  it('a console session of a directory user holds its groups’ rights until they are revoked', async () => {
    const session = await site.request('POST', '/console/session', {
      authorization: basic('alice', slapd.user.password),
    });
    expect(session.status).toBe(201);
    const { token } = (await session.json()) as { token: string };
    expect((await site.request('GET', '/api/v1/site', { authorization: `Bearer ${token}` })).status).toBe(
      200,
    );
    await site.api('POST', '/directory/group-rights/revoke', {
      groupDn: admins,
      objectClass: 'site',
      rights: ['read'],
    });
    expect((await site.api<{ items: unknown[] }>('GET', '/directory/group-rights')).items).toEqual([]);
    expect((await site.request('GET', '/api/v1/site', { authorization: `Bearer ${token}` })).status).toBe(
      403,
    );
  });

  it('a local account of the same name is not taken over by the directory user', async () => {
    // The first administrator "admin" is local: a directory user called admin cannot sign in as it.
    await ldapModify(
      slapd.admin,
      `dn: uid=admin,ou=people,${slapd.baseDn}\nobjectClass: inetOrgPerson\nuid: admin\ncn: admin\nsn: admin\n` +
        `userPassword: directory-admin-password\n\n` +
        `dn: ${admins}\nchangetype: modify\nadd: member\nmember: uid=admin,ou=people,${slapd.baseDn}\n`,
    );
    await site.api('POST', '/directory/group-rights/grant', {
      groupDn: admins,
      objectClass: 'site',
      rights: ['read'],
    });
    const refused = await site.request('GET', '/api/v1/site', {
      authorization: basic('admin', 'directory-admin-password'),
    });
    expect(refused.status).toBe(401);
  });

  it('steward directory configure and unconfigure write and remove the directory block of site.json', async () => {
    const read = async () =>
      JSON.parse(await readFile(join(site.dataDir, 'site.json'), 'utf8')) as Record<string, unknown>;
    expect(await read()).toMatchObject({
      approval: 'token',
      directory: { url: slapd.url, baseDn: slapd.baseDn, bindDn: slapd.siteSystems[0]!.dn },
    });
    const refused = await stewardDirectory([
      'configure',
      '--data',
      site.dataDir,
      '--url',
      slapd.url,
      '--bind-dn',
      slapd.siteSystems[0]!.dn,
      '--password-file',
      slapd.siteSystems[1]!.passwordFile,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ERR_DIRECTORY_BIND');
    const removed = await stewardDirectory(['unconfigure', '--data', site.dataDir, '--json']);
    expect(removed.code).toBe(0);
    expect((await read())['directory']).toBeUndefined();
  });
});
