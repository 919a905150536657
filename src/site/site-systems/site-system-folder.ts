import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import { SiteSystemFolderError } from './site-system-errors.js';

/**
 * The data folder of a management point or distribution point on its own host
 * (docs/scale-out.md). It holds the system's own identity, never a copy of the site's keys:
 *
 *   site-system.json   what was installed: role, name, site, URLs, root pin
 *   trust.json         the root chain, site certificates, the MP certificate, the TLS CA endorsement
 *   keys/key-secret    random secret that encrypts the key files (unless STEWARD_KEY_PASSPHRASE)
 *   keys/system.key    the system's Ed25519 key (an MP signs assignment lists with it)
 *   keys/tls.key       the TLS server key (when installed with an https URL)
 *   tls/ca.pem         the hierarchy CA certificate, tls/server.pem the system's TLS certificate
 *   content/           a distribution point's verified content library
 *   steward.lock       held by the running process
 */
export function siteSystemLayout(dataDir: string) {
  const keys = join(dataDir, 'keys');
  return {
    dataDir,
    config: join(dataDir, 'site-system.json'),
    trust: join(dataDir, 'trust.json'),
    keysDir: keys,
    keySecret: join(keys, 'key-secret'),
    systemKey: join(keys, 'system.key'),
    tlsKey: join(keys, 'tls.key'),
    tlsDir: join(dataDir, 'tls'),
    tlsCaCertificate: join(dataDir, 'tls', 'ca.pem'),
    tlsServerCertificate: join(dataDir, 'tls', 'server.pem'),
    content: join(dataDir, 'content'),
    runtime: join(dataDir, 'runtime.json'),
  } as const;
}

export type SiteSystemLayout = ReturnType<typeof siteSystemLayout>;

export const siteSystemConfigSchema = z.strictObject({
  format: z.literal('steward-site-system/v1'),
  role: z.enum(['management-point', 'distribution-point']),
  name: z.string().max(64),
  systemId: z.string().max(300),
  siteCode: z.string().regex(/^[A-Z0-9]{3}$/),
  siteUrl: z.string().max(2048),
  urls: z.array(z.string().max(2048)).min(1).max(8),
  rootKeyId: z.string().regex(/^[0-9a-f]{64}$/),
  keyProtection: z.enum(['secret-file', 'passphrase']),
  tls: z.boolean(),
  installedAt: z.string().max(64),
});
export type SiteSystemConfig = z.output<typeof siteSystemConfigSchema>;

export const siteSystemTrustStateSchema = z.strictObject({
  rootChain: z.array(z.string()).min(1).max(1024),
  siteCertificates: z.array(z.string()).max(64),
  mpCertificate: z.string().nullable(),
  tlsCaCertificate: z.string().nullable(),
  tlsCaEndorsement: z.string().nullable(),
});
export type SiteSystemTrustState = z.output<typeof siteSystemTrustStateSchema>;

export async function readSiteSystemConfig(
  layout: SiteSystemLayout,
  role: SiteSystemConfig['role'],
): Promise<SiteSystemConfig> {
  const config = await readState(layout.config, siteSystemConfigSchema).catch((cause: unknown) => {
    throw new SiteSystemFolderError(`${layout.config} is damaged`, { cause });
  });
  if (config === undefined) {
    throw new SiteSystemFolderError(
      `${layout.dataDir} holds no installed site system (no site-system.json); run \`steward ${role === 'management-point' ? 'mp' : 'dp'} install\` first`,
    );
  }
  if (config.role !== role) {
    throw new SiteSystemFolderError(`${layout.dataDir} holds a ${config.role}, not a ${role}`);
  }
  return config;
}

export async function readSiteSystemTrust(layout: SiteSystemLayout): Promise<SiteSystemTrustState> {
  const trust = await readState(layout.trust, siteSystemTrustStateSchema).catch((cause: unknown) => {
    throw new SiteSystemFolderError(`${layout.trust} is damaged`, { cause });
  });
  if (trust === undefined) throw new SiteSystemFolderError(`${layout.trust} is missing; install again`);
  return trust;
}

export async function writeSiteSystemTrust(
  layout: SiteSystemLayout,
  trust: SiteSystemTrustState,
): Promise<void> {
  await writeState(layout.trust, trust);
}

export async function writeSiteSystemConfig(
  layout: SiteSystemLayout,
  config: SiteSystemConfig,
): Promise<void> {
  await writeState(layout.config, config);
}

/** A JSON file of the folder, validated (C6: at most 16 MiB); undefined when absent. */
async function readState<T extends z.ZodType>(path: string, schema: T): Promise<z.output<T> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (text.length > 16 * 1024 * 1024) throw new SiteSystemFolderError(`${path} is too large`);
  return schema.parse(JSON.parse(text));
}

async function writeState(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, 0o600);
}

/** How the folder's key files are protected: STEWARD_KEY_PASSPHRASE, or the random secret file. */
export function siteSystemKeySecret(
  layout: SiteSystemLayout,
  config: SiteSystemConfig,
): { passphrase: string } | { secretFile: string } {
  if (config.keyProtection === 'secret-file') return { secretFile: layout.keySecret };
  const passphrase = process.env['STEWARD_KEY_PASSPHRASE'];
  if (passphrase === undefined || passphrase === '') {
    throw new SiteSystemFolderError(
      `${layout.dataDir} was installed with a passphrase: set STEWARD_KEY_PASSPHRASE to start it`,
    );
  }
  return { passphrase };
}
