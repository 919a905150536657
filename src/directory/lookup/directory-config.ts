/**
 * How Steward reaches a directory: one settings object for the site server, a management point, an
 * agent and the CLI. `url` may carry the base DN as its path (`ldap://host/dc=example,dc=test`);
 * without a bind DN the session is anonymous.
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { DirectoryConfigError } from './directory-errors.js';

export type DirectoryTlsMode = 'none' | 'ldaps' | 'starttls';

export interface DirectoryConfig {
  /** `ldap://host[:port][/base DN]` or `ldaps://host[:port][/base DN]`. */
  url: string;
  /** Overrides the URL's base DN; without either, the server's default naming context is used. */
  baseDn?: string;
  /** Absent: an anonymous session. */
  bindDn?: string;
  password?: string;
  /** A file holding the password (its trailing newline is ignored). */
  passwordFile?: string;
  /** Default: `ldaps` for ldaps:// URLs, `none` otherwise. `caFile` holds the PEM CA certificates to trust. */
  tls?: { mode: DirectoryTlsMode; caFile?: string };
  /** Per operation and per connection attempt; default 10 seconds. */
  timeoutMs?: number;
}

/** A DirectoryConfig checked and with its password read. */
export interface ResolvedDirectoryConfig {
  serverUrl: string;
  host: string;
  urlBaseDn: string | undefined;
  baseDn: string | undefined;
  bindDn: string | undefined;
  password: string | undefined;
  tlsMode: DirectoryTlsMode;
  ca: Buffer | undefined;
  timeoutMs: number;
}

const maxSecretFileBytes = 4096;

async function readSmallFile(path: string, what: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new DirectoryConfigError(`The ${what} ${path} cannot be read.`, { cause });
  }
  return bytes;
}

/** Checks the settings and reads the password and CA files (ERR_DIRECTORY_CONFIG). */
export async function resolveDirectoryConfig(config: DirectoryConfig): Promise<ResolvedDirectoryConfig> {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch (cause) {
    throw new DirectoryConfigError(`"${config.url}" is not an LDAP URL (ldap://host:port).`, { cause });
  }
  if (url.protocol !== 'ldap:' && url.protocol !== 'ldaps:') {
    throw new DirectoryConfigError(
      `The directory URL must start with ldap:// or ldaps:// (got ${url.protocol}//).`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new DirectoryConfigError('Put the bind DN and password in their own settings, not in the URL.');
  }
  const tlsMode = config.tls?.mode ?? (url.protocol === 'ldaps:' ? 'ldaps' : 'none');
  if ((tlsMode === 'ldaps') !== (url.protocol === 'ldaps:')) {
    throw new DirectoryConfigError(
      tlsMode === 'ldaps'
        ? 'TLS mode ldaps needs an ldaps:// URL.'
        : `TLS mode ${tlsMode} needs an ldap:// URL (StartTLS upgrades it).`,
    );
  }
  if (config.password !== undefined && config.passwordFile !== undefined) {
    throw new DirectoryConfigError('Give the directory password or a password file, not both.');
  }
  let password = config.password;
  if (config.passwordFile !== undefined) {
    const bytes = await readSmallFile(config.passwordFile, 'password file');
    if (bytes.byteLength > maxSecretFileBytes) {
      throw new DirectoryConfigError(`The password file ${config.passwordFile} is larger than 4 KiB.`);
    }
    password = bytes.toString('utf8').replace(/\r?\n$/, '');
  }
  if (config.bindDn !== undefined && (password === undefined || password === '')) {
    throw new DirectoryConfigError(`A password (or password file) is needed to bind as ${config.bindDn}.`);
  }
  const caFile = config.tls?.caFile;
  if (caFile !== undefined && tlsMode === 'none') {
    throw new DirectoryConfigError('A CA file is given but TLS is off; use --tls ldaps or starttls.');
  }
  const ca = caFile === undefined ? undefined : await readSmallFile(caFile, 'CA file');
  const path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const timeoutMs = config.timeoutMs ?? 10_000;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new DirectoryConfigError('The directory timeout must be a positive number of milliseconds.');
  }
  return {
    serverUrl: `${url.protocol}//${url.host}`,
    host,
    urlBaseDn: path === '' ? undefined : path,
    baseDn: config.baseDn ?? (path === '' ? undefined : path),
    bindDn: config.bindDn,
    password: config.bindDn === undefined ? undefined : password,
    tlsMode,
    ca,
    timeoutMs,
  };
}

/** TLS options that validate the server certificate against `ca` (or the system store) and the host. */
export function tlsOptionsFor(resolved: ResolvedDirectoryConfig) {
  return {
    ...(resolved.ca === undefined ? {} : { ca: [resolved.ca] }),
    host: resolved.host,
    ...(isIP(resolved.host) === 0 ? { servername: resolved.host } : {}),
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2' as const,
  };
}
