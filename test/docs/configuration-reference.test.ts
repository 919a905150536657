import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { format } from 'prettier';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configurationReference } from '../../scripts/configuration-reference.js';
import {
  environmentName,
  flagName,
  resolveSettings,
  type SettingsTable,
} from '../../src/platform/settings.js';

describe('settings', () => {
  const table = {
    pollInterval: { schema: z.coerce.number().positive(), default: 60, help: 'poll' },
  } satisfies SettingsTable;

  it('derives the flag and the environment variable from one name', () => {
    expect(flagName('pollInterval')).toBe('poll-interval');
    expect(environmentName('STEWARD_AGENT', 'pollInterval')).toBe('STEWARD_AGENT_POLL_INTERVAL');
  });

  it('takes the flag over the environment over the default, and validates each', () => {
    expect(resolveSettings(table, 'X', {}, {}).pollInterval).toBe(60);
    expect(resolveSettings(table, 'X', {}, { X_POLL_INTERVAL: '5' }).pollInterval).toBe(5);
    expect(resolveSettings(table, 'X', { pollInterval: '2' }, { X_POLL_INTERVAL: '5' }).pollInterval).toBe(2);
    expect(() => resolveSettings(table, 'X', {}, { X_POLL_INTERVAL: '-1' })).toThrow(/X_POLL_INTERVAL/);
    expect(Object.isFrozen(resolveSettings(table, 'X', {}, {}))).toBe(true);
  });

  it('keeps docs/configuration.md generated from the tables', async () => {
    const documented = readFileSync(resolve(import.meta.dirname, '../../docs/configuration.md'), 'utf8');
    const generated = await format(configurationReference(), {
      parser: 'markdown',
      printWidth: 110,
      singleQuote: true,
      trailingComma: 'all',
    });
    expect(documented).toBe(generated);
  });
});
