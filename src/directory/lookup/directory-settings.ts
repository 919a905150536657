/**
 * The directory settings as stored in a file (an agent's agent.json, a site's site.json): validated
 * with zod when read, and turned into a DirectoryConfig. A password is never stored here, only the
 * path of a file holding it.
 */
import { z } from 'zod';
import type { DirectoryConfig } from './directory-config.js';

export const directorySettingsSchema = z.strictObject({
  url: z
    .string()
    .regex(/^ldaps?:\/\//, 'an ldap:// or ldaps:// URL')
    .max(2000),
  baseDn: z.string().min(1).max(2000).optional(),
  bindDn: z.string().min(1).max(2000).optional(),
  passwordFile: z.string().min(1).max(4096).optional(),
  tls: z
    .strictObject({
      mode: z.enum(['none', 'ldaps', 'starttls']),
      caFile: z.string().min(1).max(4096).optional(),
    })
    .optional(),
});

export type DirectorySettings = z.output<typeof directorySettingsSchema>;

/** The DirectoryConfig these settings describe (absent fields stay absent). */
export function directoryConfigOf(settings: DirectorySettings): DirectoryConfig {
  return {
    url: settings.url,
    ...(settings.baseDn === undefined ? {} : { baseDn: settings.baseDn }),
    ...(settings.bindDn === undefined ? {} : { bindDn: settings.bindDn }),
    ...(settings.passwordFile === undefined ? {} : { passwordFile: settings.passwordFile }),
    ...(settings.tls === undefined
      ? {}
      : {
          tls: {
            mode: settings.tls.mode,
            ...(settings.tls.caFile === undefined ? {} : { caFile: settings.tls.caFile }),
          },
        }),
  };
}

/** The settings stored for a DirectoryConfig (the inverse of directoryConfigOf, without a password). */
export function directorySettingsOf(config: DirectoryConfig): DirectorySettings {
  return directorySettingsSchema.parse({
    url: config.url,
    baseDn: config.baseDn,
    bindDn: config.bindDn,
    passwordFile: config.passwordFile,
    tls: config.tls,
  });
}
