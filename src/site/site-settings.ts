import { z } from 'zod';
import type { SettingsTable } from '../platform/settings.js';

/** The site server's tunables (`steward site start`), declared once (docs/configuration.md). */
export const siteServerSettings = {
  logLevel: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug']),
    default: 'warn',
    help: 'the site server log level (logs go to standard error as JSON lines)',
  },
  inboxBatchSize: {
    schema: z.coerce.number().int().min(1).max(10_000),
    default: 500,
    help: 'reports applied per database transaction by the inbox processor',
  },
  collectionEvaluationInterval: {
    schema: z.coerce.number().int().min(10).max(86_400),
    default: 900,
    unit: 'seconds',
    help: 'time between full evaluations of every rule-based collection',
  },
} satisfies SettingsTable;

export const siteSettingsPrefix = 'STEWARD_SITE';
