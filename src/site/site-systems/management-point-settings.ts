import { z } from 'zod';
import type { SiteDb } from '../database/site-db.js';
import { toJson } from '../database/site-db.js';

/**
 * What a management point on its own host must know of its site's configuration, which lives in the
 * site server's site.json: the approval mode (S1). The site server publishes it in `site_settings`
 * at every start; MPs read it from the database they read. Directory approval needs the directory's
 * credentials, which stay at the site server: an MP on its own host registers such clients as
 * pending, and the site approves them (docs/scale-out.md).
 */
const settingName = 'siteSystems.managementPoint';

const settingsSchema = z.object({
  approval: z.enum(['manual', 'token', 'automatic', 'directory']),
});
export type ManagementPointSettings = z.output<typeof settingsSchema>;

export async function publishManagementPointSettings(
  db: SiteDb,
  settings: ManagementPointSettings,
  now: Date,
): Promise<void> {
  await db
    .insertInto('site_settings')
    .values({ name: settingName, value: toJson(settings), updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: toJson(settings), updated_at: now }))
    .execute();
}

/** The published settings; `token` approval (the default of `site init`) when none were published. */
export async function readManagementPointSettings(db: SiteDb): Promise<ManagementPointSettings> {
  const row = await db
    .selectFrom('site_settings')
    .select('value')
    .where('name', '=', settingName)
    .executeTakeFirst();
  const parsed = settingsSchema.safeParse(row?.value);
  return parsed.success ? parsed.data : { approval: 'token' };
}
