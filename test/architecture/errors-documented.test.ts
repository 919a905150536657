import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every stable error code in the source is listed in docs/errors.md (CONVENTIONS.md: a test fails
 * when a code is missing there, as Fastify's does).
 */
const root = resolve(import.meta.dirname, '../..');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return files(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

export function declaredCodes(sources: readonly string[]): Set<string> {
  const codes = new Set<string>();
  for (const text of sources) {
    for (const match of text.matchAll(/readonly code = '(ERR_[A-Z0-9_]+)'/g)) codes.add(match[1] ?? '');
    for (const match of text.matchAll(/code: '(ERR_[A-Z0-9_]+)'/g)) codes.add(match[1] ?? '');
  }
  codes.delete('');
  return codes;
}

describe('error codes', () => {
  const sources = files(join(root, 'src')).map((file) => readFileSync(file, 'utf8'));
  const documented = readFileSync(join(root, 'docs/errors.md'), 'utf8');

  it('finds the codes declared in the source', () => {
    const codes = declaredCodes(sources);
    expect(codes.size).toBeGreaterThan(40);
    expect(declaredCodes(["readonly code = 'ERR_EXAMPLE_ONE'", "{ code: 'ERR_EXAMPLE_TWO' }"])).toEqual(
      new Set(['ERR_EXAMPLE_ONE', 'ERR_EXAMPLE_TWO']),
    );
  });

  it('lists every code in docs/errors.md', () => {
    const missing = [...declaredCodes(sources)].filter((code) => !documented.includes(`\`${code}\``)).sort();
    expect(missing).toEqual([]);
  });
});
