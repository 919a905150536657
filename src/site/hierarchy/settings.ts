import { z } from 'zod';
import { toJson, type SiteDb } from '../database/site-db.js';

/**
 * The hierarchy's site control settings, kept in `site_settings` (versioned with the site control
 * that goes up): each link's schedule and rate limit, as SMS addresses had, and which status
 * messages go up (status filter rules).
 */
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day like 08:30');

export const linkSettingsSchema = z.strictObject({
  /** Open hours in UTC; empty or absent: always open. A window may pass midnight (22:00 to 06:00). */
  openHours: z
    .array(
      z.strictObject({
        days: z.array(z.number().int().min(0).max(6)).min(1).max(7).default([0, 1, 2, 3, 4, 5, 6]),
        from: timeOfDay,
        to: timeOfDay,
      }),
    )
    .max(16)
    .default([]),
  /** Bytes per second the sender may use on this link; null: unlimited. */
  maxBytesPerSecond: z.number().int().min(1024).max(10_000_000_000).nullable().default(null),
});

export type LinkSettings = z.output<typeof linkSettingsSchema>;

/** Which status messages go up: all, only warnings and errors, or those of deployments plus errors. */
export const statusForwardingSchema = z.enum(['all', 'deployments-and-errors', 'errors', 'none']);
export type StatusForwarding = z.output<typeof statusForwardingSchema>;

const linksKey = 'hierarchy.links';
const statusKey = 'hierarchy.statusForwarding';

async function read(db: SiteDb, name: string): Promise<unknown> {
  const row = await db
    .selectFrom('site_settings')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirst();
  return row?.value;
}

async function write(db: SiteDb, name: string, value: unknown, now: Date): Promise<void> {
  await db
    .insertInto('site_settings')
    .values({ name, value: toJson(value), updated_at: now })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value: toJson(value), updated_at: now }))
    .execute();
}

export async function allLinkSettings(db: SiteDb): Promise<Record<string, LinkSettings>> {
  const parsed = z.record(z.string(), linkSettingsSchema).safeParse((await read(db, linksKey)) ?? {});
  return parsed.success ? parsed.data : {};
}

export async function linkSettings(db: SiteDb, linkCode: string): Promise<LinkSettings> {
  return (await allLinkSettings(db))[linkCode] ?? linkSettingsSchema.parse({});
}

export async function setLinkSettings(
  db: SiteDb,
  linkCode: string,
  settings: LinkSettings,
  now: Date,
): Promise<void> {
  await write(db, linksKey, { ...(await allLinkSettings(db)), [linkCode]: settings }, now);
}

export async function statusForwarding(db: SiteDb): Promise<StatusForwarding> {
  const parsed = statusForwardingSchema.safeParse(await read(db, statusKey));
  return parsed.success ? parsed.data : 'all';
}

export async function setStatusForwarding(db: SiteDb, value: StatusForwarding, now: Date): Promise<void> {
  await write(db, statusKey, value, now);
}

export async function readSetting(db: SiteDb, name: string): Promise<unknown> {
  return read(db, name);
}

export async function writeSetting(db: SiteDb, name: string, value: unknown, now: Date): Promise<void> {
  await write(db, name, value, now);
}

/** True when the link may send at `now` (UTC open hours). */
export function linkIsOpen(settings: LinkSettings, now: Date): boolean {
  if (settings.openHours.length === 0) return true;
  const day = now.getUTCDay();
  const minute = now.getUTCHours() * 60 + now.getUTCMinutes();
  const minutes = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
  return settings.openHours.some((window) => {
    const from = minutes(window.from);
    const to = minutes(window.to);
    if (from === to) return window.days.includes(day);
    if (from < to) return window.days.includes(day) && minute >= from && minute < to;
    // Past midnight: the evening part belongs to the listed day, the morning part to the day after.
    const yesterday = (day + 6) % 7;
    return (window.days.includes(day) && minute >= from) || (window.days.includes(yesterday) && minute < to);
  });
}
