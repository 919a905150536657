import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { statusDefinitions } from '../../src/protocol/index.js';

describe('docs/agent.md status message table', () => {
  const text = readFileSync(resolve(import.meta.dirname, '../../docs/agent.md'), 'utf8');
  const rows = [
    ...text.matchAll(
      /^\|\s*(\d{5})\s*\|\s*([a-z-]+)(?: \([A-Z0-9]+\))?\s*\|\s*(info|warning|error)\s*\|\s*([a-z-]+)\s*\|$/gm,
    ),
  ].map((m) => ({
    id: Number(m[1]),
    name: m[2],
    severity: m[3],
    state: m[4] === '-' ? null : m[4],
  }));

  it('lists every status id the agent sends, with its name, severity and state', () => {
    const expected = statusDefinitions.map((d) => ({
      id: d.id,
      name: d.name,
      severity: d.severity,
      state: d.state,
    }));
    expect(rows.sort((a, b) => a.id - b.id)).toEqual([...expected].sort((a, b) => a.id - b.id));
  });
});
