import { z } from 'zod';
import { environmentName, resolveSettings, type SettingsTable } from '../../platform/settings.js';

/**
 * The hierarchy's timings (docs/configuration.md), declared once. They are read from the
 * environment of `steward site start` only: the defaults suit production, and tests and labs
 * shorten them.
 */
export const hierarchySettings = {
  retryInterval: {
    schema: z.coerce.number().int().min(100).max(600_000),
    default: 1000,
    unit: 'milliseconds',
    help: 'first retry of a site link after a failure; it doubles with each failure, up to 5 minutes',
  },
  idleInterval: {
    schema: z.coerce.number().int().min(50).max(600_000),
    default: 1000,
    unit: 'milliseconds',
    help: 'how often an idle site link looks for records to send (new records also wake it)',
  },
  siteControlInterval: {
    schema: z.coerce.number().int().min(200).max(86_400_000),
    default: 60_000,
    unit: 'milliseconds',
    help: 'how often the site control is compared with the one sent last (a change goes up then)',
  },
  proxyRevalidate: {
    schema: z.coerce.number().int().min(100).max(86_400_000),
    default: 60_000,
    unit: 'milliseconds',
    help: "how long a secondary site's proxy MP serves a cached trust bundle or policy before asking its parent",
  },
} satisfies SettingsTable;

export const hierarchySettingsPrefix = 'STEWARD_HIERARCHY';

/** The timings in force (ERR_SETTINGS names the variable when one is invalid). */
export function resolveHierarchySettings(env: Readonly<Record<string, string | undefined>> = process.env) {
  return resolveSettings(hierarchySettings, hierarchySettingsPrefix, {}, env);
}

/** The reference table for docs/configuration.md (environment only: no flags). */
export function hierarchySettingsReference(): string {
  const rows = Object.entries(hierarchySettings).map(
    ([name, s]) =>
      `| \`${environmentName(hierarchySettingsPrefix, name)}\` | ${String(s.default)} ${s.unit} | ${s.help} |`,
  );
  return ['| environment | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}
