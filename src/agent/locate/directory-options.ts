/**
 * The `--directory` options of `steward agent enroll` (docs/agent.md, "Enrolling from the
 * directory"), kept beside the directory locator so that the enrol command only adds them.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DirectoryConfig } from '../../directory/lookup/index.js';
import { UsageError } from '../../protocol/command-line.js';
import { hostAddresses } from '../identity/host-facts.js';
import type { DirectoryEnrollOptions } from './directory-enrol.js';

export interface DirectoryCommandOptions {
  directory?: string;
  baseDn?: string;
  directoryBindDn?: string;
  directoryPasswordFile?: string;
  directoryTls?: string;
  directoryCaFile?: string;
  siteCode?: string;
}

export function addDirectoryEnrolOptions(command: Command): Command {
  return command
    .option('--directory <ldap-url>', 'locate the site and its MP in this directory (ldap:// or ldaps://)')
    .option('--base-dn <dn>', 'with --directory: the base DN (default: the directory’s naming context)')
    .option('--directory-bind-dn <dn>', 'with --directory: read as this account (default: anonymous)')
    .option('--directory-password-file <file>', 'with --directory: the password of --directory-bind-dn')
    .option('--directory-tls <mode>', 'with --directory: none, ldaps or starttls')
    .option('--directory-ca-file <file>', 'with --directory: PEM CA certificates of the directory')
    .option('--site-code <code>', 'with --directory: take this site instead of locating it by boundary');
}

/** The directory settings and target of `--directory` (UsageError for inconsistent options). */
export function directoryEnrolTarget(
  options: DirectoryCommandOptions & { directory: string },
): Pick<DirectoryEnrollOptions, 'directory' | 'target'> {
  const tls = options.directoryTls;
  if (tls !== undefined && tls !== 'none' && tls !== 'ldaps' && tls !== 'starttls') {
    throw new UsageError('--directory-tls is none, ldaps or starttls');
  }
  if ((options.directoryBindDn === undefined) !== (options.directoryPasswordFile === undefined)) {
    throw new UsageError('--directory-bind-dn and --directory-password-file go together');
  }
  const directory: DirectoryConfig = {
    url: options.directory,
    ...(options.baseDn === undefined ? {} : { baseDn: options.baseDn }),
    ...(options.directoryBindDn === undefined ? {} : { bindDn: options.directoryBindDn }),
    ...(options.directoryPasswordFile === undefined
      ? {}
      : { passwordFile: resolve(options.directoryPasswordFile) }),
    ...(tls === undefined && options.directoryCaFile === undefined
      ? {}
      : {
          tls: {
            mode: tls ?? (options.directory.startsWith('ldaps:') ? 'ldaps' : 'starttls'),
            ...(options.directoryCaFile === undefined ? {} : { caFile: resolve(options.directoryCaFile) }),
          },
        }),
  };
  if (options.siteCode !== undefined) return { directory, target: { siteCode: options.siteCode } };
  const addresses = hostAddresses();
  if (addresses.length === 0) {
    throw new UsageError('this machine has no network address to locate its site by; give --site-code');
  }
  return { directory, target: { addresses } };
}
