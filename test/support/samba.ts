/**
 * A private Samba Active Directory domain controller on loopback, exactly per COMPONENTS.md
 * ("Directory servers"): provisioned with `-s EMPTY_FILE`, DNS and NetBIOS disabled, interfaces=lo,
 * then only the LDAP service is run. Provisioning runs in a fresh network namespace when the
 * machine allows it, so that it cannot reach any non-loopback address even by mistake. The Steward
 * schema is loaded over LDAP, the container's ACEs set as docs/directory.md describes. Samba takes
 * the standard ports (389, 636), so one DC at a time: keep its tests in one file.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { adContainerAces, directorySchema } from '../../src/directory/index.js';
import type { DirectoryConfig } from '../../src/directory/lookup/index.js';
import { ldapModify, waitForPort, type ToolBind } from '../directory/support/ldap-tools.js';
import { createTestCa, type TestCa } from '../directory/support/test-ca.js';
import { sambaProvisionArgs, sambaAccounts, systemManagementLdif } from './samba-setup.js';
import type { TestAccount } from './slapd.js';

const run = promisify(execFile);

export interface TestSambaDc {
  url: string;
  ldapsUrl: string;
  ca: TestCa;
  baseDn: string;
  schemaDn: string;
  admin: ToolBind;
  siteSystems: TestAccount[];
  user: TestAccount;
  siteSystemsSid: string;
  config(account?: TestAccount): DirectoryConfig;
  /** Adds ACEs (SDDL) to the System Management container, as `samba-tool dsacl set` does. */
  addContainerAces(sddl: string): Promise<void>;
  stop(): Promise<void>;
}

const realm = 'STEWARD.TEST';
export const sambaBaseDn = 'DC=steward,DC=test';

async function portInUse(port: number): Promise<boolean> {
  return waitForPort(port, 0, () => true).then(
    () => true,
    () => false,
  );
}

/** Why no domain controller can run here, or undefined when one may be tried. */
export async function sambaSkipReason(): Promise<string | undefined> {
  if (!existsSync('/usr/bin/samba-tool') || !existsSync('/usr/sbin/samba')) {
    return 'samba-tool is not installed (apt-get install samba winbind)';
  }
  if (process.getuid?.() !== 0) return 'a Samba domain controller needs root to bind port 389';
  if (await portInUse(389))
    return 'port 389 on 127.0.0.1 is taken (another directory server or domain controller)';
  return undefined;
}

async function isolatedNetwork(): Promise<boolean> {
  return run('unshare', ['--net', 'true'], { timeout: 5000 }).then(
    () => true,
    () => false,
  );
}

/** Refuses to start a DC whose configuration could reach beyond loopback (COMPONENTS.md WARNING). */
function checkLoopbackOnly(conf: string): void {
  const required = [
    /^\s*interfaces = lo$/m,
    /^\s*bind interfaces only = Yes$/im,
    /^\s*dns forwarder = 127\.0\.0\.1$/m,
    /^\s*server services = ldap$/m,
  ];
  const missing = required.filter((pattern) => !pattern.test(conf));
  const services = conf.match(/^\s*server services = .*$/gm) ?? [];
  if (missing.length > 0 || services.length !== 1) {
    throw new Error(
      `refusing to start Samba: smb.conf is not loopback-only (${missing.map(String).join(', ')})`,
    );
  }
}

export async function startSambaDc(): Promise<TestSambaDc> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-samba-'));
  let child: ChildProcess | undefined;
  let log = '';
  const stop = async () => {
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const emptyConf = join(dir, 'empty.conf');
    await writeFile(emptyConf, '');
    const adminPassword = 'Adm1n-Passw0rd!';
    const args = sambaProvisionArgs({ dir, emptyConf, realm, adminPassword });
    if (await isolatedNetwork()) {
      const quoted = args.map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
      await run(
        'unshare',
        ['--net', 'sh', '-c', `ip link set lo up 2>/dev/null; exec samba-tool ${quoted}`],
        {
          timeout: 120_000,
        },
      );
    } else {
      await run('samba-tool', args, { timeout: 120_000 });
    }
    const conf = join(dir, 'dc', 'etc', 'smb.conf');
    const ca = await createTestCa(dir);
    await chmod(ca.keyFile, 0o600);
    const provisioned = await readFile(conf, 'utf8');
    const configured = provisioned
      .replace(/^\s*server services = .*$/m, '\tserver services = ldap')
      .replace(
        '[global]',
        `[global]\n\tldap server require strong auth = no\n\ttls enabled = yes\n` +
          `\ttls keyfile = ${ca.keyFile}\n\ttls certfile = ${ca.certFile}\n\ttls cafile = ${ca.caFile}`,
      );
    checkLoopbackOnly(configured);
    await writeFile(conf, configured);
    const samdb = ['-H', join(dir, 'dc', 'private', 'sam.ldb'), '-s', conf];
    const accounts = await sambaAccounts(dir, samdb);
    child = spawn('/usr/sbin/samba', ['-i', '-M', 'single', '-s', conf], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const running = child;
    await waitForPort(389, 20_000, () => running.exitCode === null);
    const url = 'ldap://127.0.0.1:389';
    const admin = { url, dn: `Administrator@${realm}`, password: adminPassword };
    const schemaDn = `CN=Schema,CN=Configuration,${sambaBaseDn}`;
    await ldapModify(admin, directorySchema('ad', { schemaDn }));
    await ldapModify(admin, systemManagementLdif(sambaBaseDn));
    const addContainerAces = async (sddl: string) => {
      await run('samba-tool', [
        'dsacl',
        'set',
        `--objectdn=CN=System Management,CN=System,${sambaBaseDn}`,
        `--sddl=${sddl}`,
        ...samdb,
      ]);
    };
    await addContainerAces(adContainerAces(accounts.groupSid));
    return {
      url,
      ldapsUrl: 'ldaps://127.0.0.1:636',
      ca,
      baseDn: sambaBaseDn,
      schemaDn,
      admin,
      siteSystems: accounts.siteSystems,
      user: accounts.user,
      siteSystemsSid: accounts.groupSid,
      config: (account) => ({
        url,
        baseDn: sambaBaseDn,
        ...(account === undefined ? {} : { bindDn: account.dn, passwordFile: account.passwordFile }),
      }),
      addContainerAces,
      stop,
    };
  } catch (error) {
    await stop();
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`the Samba domain controller did not start: ${detail}\n${log.slice(-2000)}`, {
      cause: error,
    });
  }
}
