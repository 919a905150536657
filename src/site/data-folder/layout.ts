import { join } from 'node:path';

/**
 * The files of a site's data folder (docs/operations.md). One place names them all.
 *
 *   site.json                 the site's configuration (code, name, listen address, database)
 *   steward.lock              held by the running site server
 *   runtime.json              written by a running site server: its PID and URL
 *   admin-credentials.json    the first administrator's password and API token (mode 0600)
 *   keys/key-secret           random secret that encrypts the key files (unless a passphrase is used)
 *   keys/root-N.key           root keys (central site only; may be moved offline)
 *   keys/site.key, keys/mp.key
 *   keys/tls-ca.key           the hierarchy TLS CA's private key (central site; docs/tls.md)
 *   keys/tls-server.key       the private key of the site server's TLS certificate
 *   retired-keys/             root keys retired by `steward trust rotate-root` (root-vN-I.key)
 *   tls/ca.pem                the hierarchy CA certificate (public: `--data` gives it to the CLI)
 *   tls/server.pem            the site server's current TLS certificate (public)
 *   database/                 the embedded PGlite database
 *   content/                  the content library
 */
export function siteDataLayout(dataDir: string) {
  const keys = join(dataDir, 'keys');
  return {
    dataDir,
    config: join(dataDir, 'site.json'),
    runtime: join(dataDir, 'runtime.json'),
    credentials: join(dataDir, 'admin-credentials.json'),
    keysDir: keys,
    keySecret: join(keys, 'key-secret'),
    rootKey: (index: number) => join(keys, `root-${index}.key`),
    /** A new root key written by a rotation before it takes the place of the old ones. */
    incomingRootKey: (index: number) => join(keys, `incoming-root-${index}.key`),
    incomingMpKey: join(keys, 'incoming-mp.key'),
    retiredKeysDir: join(dataDir, 'retired-keys'),
    /** Root key `index` of root version `version`, retired by a rotation (out of keys/). */
    retiredRootKey: (version: number, index: number) =>
      join(dataDir, 'retired-keys', `root-v${version}-${index}.key`),
    siteKey: join(keys, 'site.key'),
    mpKey: join(keys, 'mp.key'),
    tlsCaKey: join(keys, 'tls-ca.key'),
    tlsServerKey: join(keys, 'tls-server.key'),
    tlsDir: join(dataDir, 'tls'),
    tlsCaCertificate: join(dataDir, 'tls', 'ca.pem'),
    tlsServerCertificate: join(dataDir, 'tls', 'server.pem'),
    database: join(dataDir, 'database'),
    content: join(dataDir, 'content'),
  } as const;
}

export type SiteDataLayout = ReturnType<typeof siteDataLayout>;
