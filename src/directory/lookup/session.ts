/**
 * A bound LDAP session: connect (plain, ldaps, or upgraded with StartTLS), bind or stay anonymous,
 * then read the root DSE once to learn the server's kind and the base DN.
 */
import { Client } from 'ldapts';
import { DirectoryConfigError } from './directory-errors.js';
import {
  resolveDirectoryConfig,
  tlsOptionsFor,
  type DirectoryConfig,
  type ResolvedDirectoryConfig,
} from './directory-config.js';
import { directoryFailure } from './ldap-failure.js';
import { readRootDse, type DirectoryFlavor } from './root-dse.js';

export interface DirectorySession {
  readonly client: Client;
  /** The server URL without a path, for messages. */
  readonly url: string;
  readonly baseDn: string;
  readonly flavor: DirectoryFlavor;
  /** The bind DN as configured, or null for an anonymous session. */
  readonly bindDn: string | null;
  /** Active Directory's schema partition (undefined on OpenLDAP). */
  readonly schemaDn: string | undefined;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Ignore the configured bind DN and stay anonymous (the ACL check's "anyone" probe). */
  anonymous?: boolean;
}

async function connect(resolved: ResolvedDirectoryConfig): Promise<Client> {
  const client = new Client({
    url: resolved.serverUrl,
    timeout: resolved.timeoutMs,
    connectTimeout: resolved.timeoutMs,
    strictDN: false,
    ...(resolved.tlsMode === 'ldaps' ? { tlsOptions: tlsOptionsFor(resolved) } : {}),
  });
  try {
    if (resolved.tlsMode === 'starttls') await client.startTLS(tlsOptionsFor(resolved));
    if (resolved.bindDn !== undefined && resolved.password !== undefined) {
      await client.bind(resolved.bindDn, resolved.password);
    }
  } catch (error) {
    await client.unbind().catch(() => undefined);
    const action = resolved.bindDn === undefined ? 'start a session' : `bind as ${resolved.bindDn}`;
    throw directoryFailure(error, action, resolved.serverUrl);
  }
  return client;
}

/** Opens a session; the caller closes it (`await using` is not used: Node 20). */
export async function openDirectorySession(
  config: DirectoryConfig,
  options: SessionOptions = {},
): Promise<DirectorySession> {
  const resolved = await resolveDirectoryConfig(
    options.anonymous === true ? withoutCredentials(config) : config,
  );
  const client = await connect(resolved);
  try {
    const dse = await readRootDse(client, resolved.serverUrl);
    const baseDn = resolved.baseDn ?? dse.defaultBaseDn;
    if (baseDn === undefined) {
      throw new DirectoryConfigError(
        `The directory at ${resolved.serverUrl} names no default base DN; give one (--base-dn).`,
      );
    }
    return {
      client,
      url: resolved.serverUrl,
      baseDn,
      flavor: dse.flavor,
      bindDn: resolved.bindDn ?? null,
      schemaDn: dse.schemaDn,
      close: () => client.unbind().catch(() => undefined),
    };
  } catch (error) {
    await client.unbind().catch(() => undefined);
    throw error;
  }
}

function withoutCredentials(config: DirectoryConfig): DirectoryConfig {
  const { bindDn: _bindDn, password: _password, passwordFile: _passwordFile, ...rest } = config;
  return rest;
}

/** Runs `work` in a session and always closes it. */
export async function withDirectorySession<T>(
  config: DirectoryConfig,
  work: (session: DirectorySession) => Promise<T>,
  options: SessionOptions = {},
): Promise<T> {
  const session = await openDirectorySession(config, options);
  try {
    return await work(session);
  } finally {
    await session.close();
  }
}
