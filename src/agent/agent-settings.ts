import { z } from 'zod';
import type { SettingsTable } from '../platform/settings.js';

const positive = z.coerce.number().positive();

/** The agent's tunables (`steward agent run`), declared once (docs/configuration.md). */
export const agentSettings = {
  pollInterval: {
    schema: positive.max(86_400),
    default: 60,
    unit: 'seconds',
    help: 'time between policy polls (±20% jitter)',
  },
  heartbeatInterval: {
    schema: positive.max(7 * 86_400),
    default: 3600,
    unit: 'seconds',
    help: 'time between heartbeat discovery reports',
  },
  inventoryInterval: {
    schema: positive.max(30 * 86_400),
    default: 14_400,
    unit: 'seconds',
    help: 'time between inventory checks (a delta is sent when something changed)',
  },
  cacheSize: {
    schema: positive.max(1024 * 1024),
    default: 2048,
    unit: 'MiB',
    help: 'content cache limit; unused package versions are evicted first',
  },
} satisfies SettingsTable;

export const agentSettingsPrefix = 'STEWARD_AGENT';
