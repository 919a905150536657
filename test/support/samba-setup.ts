/** Provisioning arguments, accounts and ACEs of the test domain controller (test/support/samba.ts). */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestAccount } from './slapd.js';

const run = promisify(execFile);

/**
 * COMPONENTS.md's recipe, option for option: the empty configuration file (never this machine's
 * resolver as a DNS forwarder), DNS and NetBIOS disabled, loopback only, paths inside `dir`.
 */
export function sambaProvisionArgs(options: {
  dir: string;
  emptyConf: string;
  realm: string;
  adminPassword: string;
}) {
  const dc = join(options.dir, 'dc');
  return [
    'domain',
    'provision',
    '-s',
    options.emptyConf,
    '--server-role=dc',
    '--dns-backend=SAMBA_INTERNAL',
    '--use-rfc2307',
    '--host-ip=127.0.0.1',
    '--host-name=stewarddc',
    `--realm=${options.realm}`,
    `--domain=${options.realm.split('.')[0] ?? 'STEWARD'}`,
    `--adminpass=${options.adminPassword}`,
    `--targetdir=${dc}`,
    '--option=interfaces=lo',
    '--option=bind interfaces only=yes',
    '--option=server services=-dns -nbt',
    '--option=dns forwarder=127.0.0.1',
    '--option=dsdb:schema update allowed=true',
    `--option=pid directory=${join(dc, 'run')}`,
    `--option=ncalrpc dir=${join(dc, 'ncalrpc')}`,
    `--option=winbindd socket directory=${join(dc, 'winbindd')}`,
    `--option=log file=${join(dc, 'log.%m')}`,
  ];
}

/** steward-ABC and steward-DEF in "Site Systems", and alice; created in the local sam.ldb. */
export async function sambaAccounts(dir: string, samdb: readonly string[]) {
  const make = async (name: string): Promise<TestAccount> => {
    const password = `Pw-${name}-1!x`;
    await run('samba-tool', ['user', 'create', name, password, ...samdb]);
    const passwordFile = join(dir, `${name}.password`);
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    return { name, dn: `CN=${name},CN=Users,DC=steward,DC=test`, password, passwordFile };
  };
  const siteSystems = [await make('steward-ABC'), await make('steward-DEF')];
  const user = await make('alice');
  await run('samba-tool', ['group', 'add', 'Site Systems', ...samdb]);
  await run('samba-tool', [
    'group',
    'addmembers',
    'Site Systems',
    siteSystems.map((a) => a.name).join(','),
    ...samdb,
  ]);
  const { stdout } = await run('samba-tool', [
    'group',
    'show',
    'Site Systems',
    '--attributes=objectSid',
    ...samdb,
  ]);
  const groupSid = /objectSid:\s*(S-1-[0-9-]+)/.exec(stdout)?.[1];
  if (groupSid === undefined) throw new Error(`no SID for Site Systems in: ${stdout}`);
  return { siteSystems, user, groupSid };
}

export function systemManagementLdif(baseDn: string): string {
  return `dn: CN=System Management,CN=System,${baseDn}\nchangetype: add\nobjectClass: container\ncn: System Management\n`;
}
