/**
 * site.json's optional `directory` block (docs/directory.md, "Publishing automatically"): where the
 * site server publishes its entries, binding as its own account, and where the management point
 * looks for machine accounts when clients are approved by the directory. Written by
 * `steward directory configure`.
 */
import { z } from 'zod';
import { directorySettingsSchema } from '../../directory/lookup/directory-settings.js';

export const siteDirectorySchema = directorySettingsSchema.extend({
  /** Publish the site's entries on start and whenever they change (default true). */
  publish: z.boolean().optional(),
  /** Where machine accounts are searched for directory approval (default: the base DN). */
  computersDn: z.string().min(1).max(2000).optional(),
});

export type SiteDirectorySettings = z.output<typeof siteDirectorySchema>;
