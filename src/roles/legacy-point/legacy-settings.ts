import { z } from 'zod';
import { toJson, type SiteDb } from '../../site/database/site-db.js';

/**
 * The site's legacy client settings, kept in `site_settings` under `legacyClients` so that a change
 * (`steward site legacy-clients enable|disable`) takes effect at once, without a restart, and is
 * written to the audit log by the admin API. Absent: legacy clients are disabled (DESIGN.md
 * section 1: "off by default and flagged by the audit").
 */
export const legacySettingsSchema = z.strictObject({
  /** The `/legacy/v1` endpoints answer at all. */
  enabled: z.boolean(),
  /**
   * Clients without openssl (they check SHA-256 hashes against a list whose signature they cannot
   * check) may receive deployments. Off by default; each such client also had to ask for it.
   */
  allowUnverified: z.boolean(),
});

export type LegacySettings = z.output<typeof legacySettingsSchema>;

export const defaultLegacySettings: LegacySettings = Object.freeze({
  enabled: false,
  allowUnverified: false,
});

const settingName = 'legacyClients';

export async function readLegacySettings(db: SiteDb): Promise<LegacySettings> {
  const row = await db
    .selectFrom('site_settings')
    .select('value')
    .where('name', '=', settingName)
    .executeTakeFirst();
  const parsed = legacySettingsSchema.safeParse(row?.value);
  // An unreadable value is treated as the safe default: disabled.
  return parsed.success ? parsed.data : { ...defaultLegacySettings };
}

export async function writeLegacySettings(db: SiteDb, settings: LegacySettings, now: Date): Promise<void> {
  const value = toJson(legacySettingsSchema.parse(settings));
  await db
    .insertInto('site_settings')
    .values({ name: settingName, value, updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value, updated_at: now }))
    .execute();
}
