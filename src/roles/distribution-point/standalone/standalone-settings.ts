import { z } from 'zod';
import { switchSchema, type SettingsTable } from '../../../platform/settings.js';

/** `steward dp start` tunables, declared once (docs/configuration.md, docs/scale-out.md). */
export const distributionPointSettings = {
  logLevel: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug']),
    default: 'warn',
    help: 'the distribution point log level (JSON lines on standard error)',
  },
  tls: {
    schema: z.enum(['auto', 'always', 'never']),
    default: 'auto' as const,
    help: 'HTTPS with the certificate issued at install: auto (unless the listen address is loopback), always, never',
  },
  insecureHttp: {
    schema: switchSchema,
    default: false,
    switch: true,
    help: 'serve plain HTTP on an address that is not loopback (logged)',
  },
  syncInterval: {
    schema: z.coerce.number().min(1).max(86_400),
    default: 60,
    unit: 'seconds',
    help: 'how often the content list is read from the site and missing versions are pulled',
  },
} satisfies SettingsTable;

export const distributionPointSettingsPrefix = 'STEWARD_DP';
