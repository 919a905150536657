/**
 * A private slapd per test file (COMPONENTS.md, "Directory servers"): cn=config written as LDIF and
 * loaded with slapadd, slapd in the foreground on a free loopback port (its PID is ours), then the
 * Steward schema loaded over LDAP as cn=admin,cn=config, the ACLs of COMPONENTS.md, the System
 * Management container, two site-system accounts in "Site Systems" and an ordinary user. stop()
 * sends SIGKILL and removes the folder.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { directorySchema, openLdapAccessRules } from '../../src/directory/index.js';
import type { DirectoryConfig } from '../../src/directory/lookup/index.js';
import { freePort, ldapModify, waitForPort, type ToolBind } from '../directory/support/ldap-tools.js';
import { createTestCa, type TestCa } from '../directory/support/test-ca.js';
import { accountsLdif, baseLdif, configLdif, containerLdif } from './slapd-ldif.js';

const run = promisify(execFile);

export interface TestAccount {
  name: string;
  dn: string;
  password: string;
  passwordFile: string;
}

export interface TestSlapd {
  url: string;
  ldapsUrl: string | undefined;
  ca: TestCa | undefined;
  baseDn: string;
  dir: string;
  admin: ToolBind;
  configAdmin: ToolBind;
  /** Site-system accounts, members of cn=Site Systems (default steward-ABC and steward-DEF). */
  siteSystems: TestAccount[];
  /** An ordinary user, in no group. */
  user: TestAccount;
  /** A DirectoryConfig binding as `account` (anonymous when undefined). */
  config(account?: TestAccount): DirectoryConfig;
  /** Replaces the mdb database's olcAccess rules. */
  setAcls(rules: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

export const slapdBinary = '/usr/sbin/slapd';

export function slapdSkipReason(): string | undefined {
  if (!existsSync(slapdBinary)) return 'slapd is not installed (apt-get install slapd ldap-utils)';
  return undefined;
}

export interface SlapdOptions {
  siteSystems?: readonly string[];
  /** Also listen on ldaps:// and configure StartTLS with a test CA. */
  tls?: boolean;
  /** Leave the schema unloaded (for the schema-loading test itself). */
  loadSchema?: boolean;
}

export async function startSlapd(options: SlapdOptions = {}): Promise<TestSlapd> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-slapd-'));
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const baseDn = 'dc=example,dc=test';
    const password = 'secret-admin-password';
    const ca = options.tls === true ? await createTestCa(dir) : undefined;
    const port = await freePort();
    const tlsPort = ca === undefined ? undefined : await freePort();
    await mkdir(join(dir, 'slapd.d'));
    await mkdir(join(dir, 'db'));
    await writeFile(join(dir, 'config.ldif'), configLdif({ dir, baseDn, password, ca }));
    await run('slapadd', ['-n0', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'config.ldif')]);
    const names = options.siteSystems ?? ['steward-ABC', 'steward-DEF'];
    const accounts = await Promise.all(
      [...names, 'alice'].map(async (name): Promise<TestAccount> => {
        const passwordFile = join(dir, `${name}.password`);
        const secret = `password-of-${name}`;
        await writeFile(passwordFile, `${secret}\n`, { mode: 0o600 });
        const ou = name === 'alice' ? 'people' : 'site-systems';
        return { name, dn: `uid=${name},ou=${ou},${baseDn}`, password: secret, passwordFile };
      }),
    );
    const siteSystems = accounts.slice(0, names.length);
    const user = accounts[names.length]!;
    await writeFile(join(dir, 'data.ldif'), baseLdif(baseDn) + accountsLdif(baseDn, siteSystems, user));
    await run('slapadd', ['-n1', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'data.ldif')]);
    const urls = [`ldap://127.0.0.1:${port}/`];
    if (tlsPort !== undefined) urls.push(`ldaps://127.0.0.1:${tlsPort}/`);
    child = spawn(slapdBinary, ['-h', urls.join(' '), '-F', join(dir, 'slapd.d'), '-d', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const running = child;
    await waitForPort(port, 10_000, () => running.exitCode === null).catch((error: unknown) => {
      throw new Error(`slapd did not start: ${String(error)}\n${stderr}`);
    });
    const url = `ldap://127.0.0.1:${port}`;
    const admin = { url, dn: `cn=admin,${baseDn}`, password };
    const configAdmin = { url, dn: 'cn=admin,cn=config', password };
    const setAcls = async (rules: readonly string[]) => {
      const lines = rules.map((rule, index) => `olcAccess: {${index}}${rule}`);
      await ldapModify(
        configAdmin,
        `dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nreplace: olcAccess\n${lines.join('\n')}\n`,
      );
    };
    if (options.loadSchema !== false) {
      await ldapModify(configAdmin, directorySchema('openldap'));
      await ldapModify(
        configAdmin,
        'dn: olcDatabase={1}mdb,cn=config\nchangetype: modify\nadd: olcDbIndex\nolcDbIndex: stewardSiteCode,stewardMpName eq\n',
      );
      await ldapModify(admin, containerLdif(baseDn));
    }
    await setAcls(openLdapAccessRules(baseDn));
    return {
      url,
      ldapsUrl: tlsPort === undefined ? undefined : `ldaps://127.0.0.1:${tlsPort}`,
      ca,
      baseDn,
      dir,
      admin,
      configAdmin,
      siteSystems,
      user,
      config: (account) => ({
        url,
        baseDn,
        ...(account === undefined ? {} : { bindDn: account.dn, passwordFile: account.passwordFile }),
      }),
      setAcls,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
