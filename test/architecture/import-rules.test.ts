import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layout is the architecture (CONVENTIONS.md): which context may import which. The rules:
 * trust imports nothing of ours; protocol and platform only trust; the agent never imports the
 * site, the roles, the admin API or the CLI (only trust, protocol, platform and the directory's
 * lookup); nothing imports the CLI.
 */
const srcRoot = resolve(import.meta.dirname, '../../src');

const allowed: Record<string, readonly string[] | 'any'> = {
  trust: ['trust'],
  protocol: ['protocol', 'trust'],
  platform: ['platform', 'trust'],
  agent: ['agent', 'trust', 'protocol', 'platform', 'directory/lookup'],
  cli: 'any',
};

function contextOf(file: string): string {
  const parts = relative(srcRoot, file).split(sep);
  if (parts[0] === 'directory' && parts[1] === 'lookup') return 'directory/lookup';
  if (parts[0] === 'roles') return `roles/${parts[1] ?? ''}`;
  return parts[0] ?? '';
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return specifiers
    .map((m) => m[1] ?? m[2] ?? '')
    .filter((s) => s.startsWith('.'))
    .map((s) => resolve(dirname(file), s));
}

/** Every import edge that breaks a rule, as readable lines. */
export function violations(edges: readonly { file: string; target: string }[]): string[] {
  const found: string[] = [];
  for (const { file, target } of edges) {
    const from = contextOf(file);
    const to = contextOf(target);
    if (to === from) continue;
    if (to === 'cli') {
      found.push(`${relative(srcRoot, file)} imports the CLI (${relative(srcRoot, target)})`);
      continue;
    }
    const permitted =
      from === 'directory/lookup'
        ? ['directory/lookup', 'trust', 'protocol', 'platform']
        : allowed[from.split('/')[0] ?? ''];
    if (permitted === undefined || permitted === 'any') continue;
    if (!permitted.some((p) => to === p || to.startsWith(`${p}/`))) {
      found.push(`${relative(srcRoot, file)} (${from}) imports ${relative(srcRoot, target)} (${to})`);
    }
  }
  return found;
}

describe('architecture', () => {
  const files = sourceFiles(srcRoot);

  it('finds the source files', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  it('keeps every import inside the allowed contexts', () => {
    const edges = files.flatMap((file) => importsOf(file).map((target) => ({ file, target })));
    expect(edges.length).toBeGreaterThan(100);
    expect(violations(edges)).toEqual([]);
  });

  it('flags the forbidden edges it is meant to catch', () => {
    const at = (path: string) => join(srcRoot, path);
    const edge = (file: string, target: string) => ({ file: at(file), target: at(target) });
    expect(violations([edge('agent/a.ts', 'site/b.ts')])).toHaveLength(1);
    expect(violations([edge('agent/a.ts', 'roles/management-point/b.ts')])).toHaveLength(1);
    expect(violations([edge('agent/a.ts', 'admin/api/b.ts')])).toHaveLength(1);
    expect(violations([edge('trust/a.ts', 'protocol/b.ts')])).toHaveLength(1);
    expect(violations([edge('protocol/a.ts', 'site/b.ts')])).toHaveLength(1);
    expect(violations([edge('site/a.ts', 'cli/b.ts')])).toHaveLength(1);
    expect(violations([edge('directory/lookup/a.ts', 'site/b.ts')])).toHaveLength(1);
    expect(
      violations([edge('agent/a.ts', 'trust/b.ts'), edge('agent/a.ts', 'directory/lookup/c.ts')]),
    ).toEqual([]);
    expect(violations([edge('site/a.ts', 'trust/b.ts'), edge('cli/a.ts', 'site/b.ts')])).toEqual([]);
  });
});
