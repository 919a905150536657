/** The connection options every `steward directory` command shares (docs/directory.md). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { DirectoryConfig } from '../../directory/index.js';
import { UsageError } from '../../protocol/command-line.js';

export interface ConnectionOptions {
  url: string;
  baseDn?: string;
  bindDn?: string;
  passwordFile?: string;
  tls?: string;
  caFile?: string;
  json?: boolean;
}

export function withConnection(command: Command): Command {
  return command
    .requiredOption('--url <ldap-url>', 'the directory: ldap://host[:port] or ldaps://host[:port]')
    .option('--base-dn <dn>', 'the base DN (default: the directory’s default naming context)')
    .option('--bind-dn <dn>', 'the account to bind as (a DN, or user@domain on Active Directory)')
    .option('--password-file <file>', 'a file holding the password of --bind-dn')
    .option('--tls <mode>', 'none, ldaps or starttls (default: ldaps for ldaps:// URLs, else none)')
    .option('--ca-file <file>', 'PEM CA certificates that validate the directory’s certificate')
    .option('--json', 'print one JSON document');
}

export function directoryConfig(options: ConnectionOptions): DirectoryConfig {
  const tls = options.tls;
  if (tls !== undefined && tls !== 'none' && tls !== 'ldaps' && tls !== 'starttls') {
    throw new UsageError('--tls is none, ldaps or starttls');
  }
  if (options.bindDn !== undefined && options.passwordFile === undefined) {
    throw new UsageError('--bind-dn needs --password-file (passwords are not taken on the command line)');
  }
  return {
    url: options.url,
    ...(options.baseDn === undefined ? {} : { baseDn: options.baseDn }),
    ...(options.bindDn === undefined ? {} : { bindDn: options.bindDn }),
    ...(options.passwordFile === undefined ? {} : { passwordFile: resolve(options.passwordFile) }),
    ...(tls === undefined && options.caFile === undefined
      ? {}
      : {
          tls: {
            mode: tls ?? (options.url.startsWith('ldaps:') ? 'ldaps' : 'starttls'),
            ...(options.caFile === undefined ? {} : { caFile: resolve(options.caFile) }),
          },
        }),
  };
}
