import { z } from 'zod';

/**
 * The hierarchy's security options in site.json (docs/hierarchy.md). Both are off by default;
 * `steward audit` reports either one turned on as a failure.
 */
export const siteHierarchySchema = z.strictObject({
  /**
   * Automatic key exchange: accept a join without a join token (trust on first use between
   * sites). The joining site's key is certified on its own word.
   */
  automaticKeyExchange: z.boolean().default(false),
  /**
   * Legacy site interop: accept unsigned site-to-site data (S3) from the sites listed, which
   * cannot sign. Nothing proves such data came from them.
   */
  legacyInterop: z.boolean().default(false),
  legacySites: z
    .array(z.string().regex(/^[A-Z0-9]{3}$/))
    .max(64)
    .default([]),
});

export type SiteHierarchyConfig = z.output<typeof siteHierarchySchema>;

export const defaultHierarchyConfig: SiteHierarchyConfig = {
  automaticKeyExchange: false,
  legacyInterop: false,
  legacySites: [],
};
