import { z } from 'zod';
import { switchSchema, type SettingsTable } from '../../../platform/settings.js';

/** `steward mp start` tunables, declared once (docs/configuration.md, docs/scale-out.md). */
export const managementPointSettings = {
  logLevel: {
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug']),
    default: 'warn',
    help: 'the management point log level (JSON lines on standard error)',
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
  feedInterval: {
    schema: z.coerce.number().min(0.1).max(600),
    default: 2,
    unit: 'seconds',
    help: 'how often the policy change feed is read from the replica (or the primary)',
  },
} satisfies SettingsTable;

export const managementPointSettingsPrefix = 'STEWARD_MP';
