import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { siteDirectorySchema } from '../directory/site-directory-settings.js';
import { siteHierarchySchema } from '../hierarchy/hierarchy-config.js';
import { securityModeSchema } from '../security-mode/security-mode.js';
import { DataFolderError } from '../site-errors.js';
import { writeFileAtomic } from '../../platform/atomic-file.js';

/** site.json: what `steward site init` decided, read by every later command. */
export const siteConfigSchema = z.strictObject({
  format: z.literal('steward-site/v1'),
  code: z.string().regex(/^[A-Z0-9]{3}$/),
  name: z.string().min(1).max(128),
  siteType: z.enum(['central', 'primary', 'secondary']),
  parentUrl: z.url().nullable(),
  listen: z.string().min(1).max(300),
  publicUrl: z.url().nullable(),
  database: z.string().max(2000).nullable(),
  /** Refuse a database connection that is not TLS (docs/tls.md); absent in sites made before it. */
  databaseRequireTls: z.boolean().optional(),
  keyProtection: z.enum(['secret-file', 'passphrase']),
  rootKeyCount: z.number().int().min(0).max(16),
  /** `directory`: clients whose machine account is in the directory are approved (docs/directory.md). */
  approval: z.enum(['manual', 'token', 'automatic', 'directory']),
  createdAt: z.string(),
  /** The directory the site publishes to and reads machine accounts and admin users from. */
  directory: siteDirectorySchema.optional(),
  /** Hierarchy security options (docs/hierarchy.md): both off unless set. */
  hierarchy: siteHierarchySchema.optional(),
  /** advanced (absent: the default) or standard; `steward site security-mode` (docs/audit.md). */
  securityMode: securityModeSchema.optional(),
});

export type SiteConfig = z.output<typeof siteConfigSchema>;

export async function readSiteConfig(path: string): Promise<SiteConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new DataFolderError(`no site here: ${path} cannot be read (run "steward site init" first)`, {
      cause,
    });
  }
  const parsed = siteConfigSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new DataFolderError(`${path} is not a valid site configuration: ${parsed.error.message}`);
  }
  return parsed.data;
}

export async function writeSiteConfig(path: string, config: SiteConfig): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`, 0o600);
}
