/**
 * Document schemas (property tests): every kind refuses unknown fields, wrong types, oversized
 * strings and arrays (C6), and the cross-field rules of each kind.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { documentKinds, parsePayload, type DocumentKind, type StewardError } from '../../src/trust/index.js';
import { daysFromNow, samplePayload, seededKey, withFields } from './support/pki.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Sample payloads exactly as signed (defaults filled in). */
const samples = Object.fromEntries(
  documentKinds.map((kind) => [
    kind,
    JSON.parse(JSON.stringify(parsePayload(kind, bytesOf(samplePayload(kind))))) as Json,
  ]),
) as Record<DocumentKind, Json>;

function bytesOf(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

/** Paths whose content belongs to other layers (free-form JSON or a name-to-value record). */
function isOpen(path: Path): boolean {
  return path.includes('body') || path.includes('environment');
}

function walk(value: Json, path: Path, visit: (value: Json, path: Path) => void): void {
  visit(value, path);
  if (Array.isArray(value)) value.forEach((item, index) => walk(item, [...path, index], visit));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) walk(item, [...path, key], visit);
  }
}

function setAt(root: Json, path: Path, replace: (old: Json) => Json): Json {
  const copy = structuredClone(root);
  if (path.length === 0) return replace(copy);
  let node = copy as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) node = node[step] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  node[last] = replace(node[last]!);
  return copy;
}

type Site = { kind: DocumentKind; path: Path; value: Json };

const sites: Site[] = documentKinds.flatMap((kind) => {
  const found: Site[] = [];
  walk(samples[kind], [], (value, path) => {
    if (!isOpen(path.slice(0, -1))) found.push({ kind, path, value });
  });
  return found;
});
const objectSites = sites.filter(
  (s) => s.value !== null && typeof s.value === 'object' && !Array.isArray(s.value) && !isOpen(s.path),
);
const leafSites = sites.filter((s) => s.value === null || typeof s.value !== 'object');
const stringSites = leafSites.filter((s) => typeof s.value === 'string');
const arraySites = sites.filter((s) => Array.isArray(s.value));

function wrongValues(value: Json): fc.Arbitrary<Json> {
  const any = [fc.integer(), fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({})];
  if (typeof value === 'string') return fc.oneof(any[0]!, any[1]!, any[3]!, any[4]!);
  if (typeof value === 'number') return fc.oneof(fc.string(), any[1]!, any[2]!, any[3]!, any[4]!);
  if (typeof value === 'boolean') return fc.oneof(fc.string(), any[0]!, any[2]!, any[3]!);
  return fc.oneof(any[0]!, any[1]!, any[3]!, any[4]!);
}

describe('document schemas', () => {
  it('accept the sample of every kind', () => {
    for (const kind of documentKinds)
      expect(codeOf(() => parsePayload(kind, bytesOf(samples[kind])))).toBe('accepted');
    expect(objectSites.length).toBeGreaterThan(documentKinds.length);
  });

  it('refuse an unknown field on any object of any kind (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...objectSites),
        fc.string({ minLength: 1, maxLength: 20 }),
        (site, key) => {
          fc.pre(!Object.hasOwn(site.value as object, key));
          const changed = setAt(samples[site.kind], site.path, (old) => ({ ...(old as object), [key]: 1 }));
          expect(codeOf(() => parsePayload(site.kind, bytesOf(changed)))).toBe('ERR_PAYLOAD_INVALID');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuse a wrong type in any field of any kind (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...leafSites).chain((site) => fc.tuple(fc.constant(site), wrongValues(site.value))),
        ([site, wrong]) => {
          const changed = setAt(samples[site.kind], site.path, () => wrong);
          expect(
            codeOf(() => parsePayload(site.kind, bytesOf(changed))),
            JSON.stringify(site.path),
          ).toBe('ERR_PAYLOAD_INVALID');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('refuse an oversized string in any field of any kind (every string field, C6)', () => {
    for (const site of stringSites) {
      const changed = setAt(samples[site.kind], site.path, () => 'a'.repeat(10_000));
      expect(
        codeOf(() => parsePayload(site.kind, bytesOf(changed))),
        JSON.stringify(site.path),
      ).toBe('ERR_PAYLOAD_INVALID');
    }
  });

  it('refuse an oversized array in any field of any kind (every array field, C6)', () => {
    for (const site of arraySites) {
      const first = (site.value as Json[])[0] ?? 'x';
      const changed = setAt(samples[site.kind], site.path, () => Array.from({ length: 10_001 }, () => first));
      expect(
        codeOf(() => parsePayload(site.kind, bytesOf(changed))),
        JSON.stringify(site.path),
      ).toBe('ERR_PAYLOAD_INVALID');
    }
  });

  it('enforce array bounds exactly with distinct items (assignments 1000, exit codes 32, urls 8)', () => {
    const assignment = (i: number) => ({ policyId: `P${i}`, version: 1, hash: '0'.repeat(64) });
    const list = (n: number) =>
      withFields('policy-assignments', { assignments: Array.from({ length: n }, (_, i) => assignment(i)) });
    expect(codeOf(() => parsePayload('policy-assignments', bytesOf(list(1000))))).toBe('accepted');
    expect(codeOf(() => parsePayload('policy-assignments', bytesOf(list(1001))))).toBe('ERR_PAYLOAD_INVALID');
    expect(codeOf(() => parsePayload('policy-assignments', bytesOf(list(0))))).toBe('accepted');
    const body = samples['policy-body'] as { program: Record<string, Json> };
    const codes = (n: number) => ({
      ...body,
      program: { ...body.program, successExitCodes: Array.from({ length: n }, (_, i) => i) },
    });
    expect(codeOf(() => parsePayload('policy-body', bytesOf(codes(32))))).toBe('accepted');
    expect(codeOf(() => parsePayload('policy-body', bytesOf(codes(33))))).toBe('ERR_PAYLOAD_INVALID');
    const urls = (n: number) =>
      withFields('mp-certificate', { urls: Array.from({ length: n }, (_, i) => `https://mp${i}.test/`) });
    expect(codeOf(() => parsePayload('mp-certificate', bytesOf(urls(8))))).toBe('accepted');
    expect(codeOf(() => parsePayload('mp-certificate', bytesOf(urls(9))))).toBe('ERR_PAYLOAD_INVALID');
  });

  it('refuse a document of another kind, duplicates, bad cross-field rules', () => {
    const refused: [DocumentKind, unknown][] = [
      ['root', samples['site-certificate']],
      ['root', withFields('root', { threshold: 2 })],
      [
        'root',
        withFields('root', {
          keys: [seededKey('root-1').publicRecord(), seededKey('root-1').publicRecord()],
        }),
      ],
      ['root', withFields('root', { expiresAt: daysFromNow(-1) })],
      ['root', withFields('root', { issuedAt: '2026-02-30T00:00:00.000Z' })],
      ['root', withFields('root', { issuedAt: '2026-01-01T00:00:00Z' })],
      ['site-certificate', withFields('site-certificate', { parentSiteCode: 'XYZ' })],
      ['site-certificate', withFields('site-certificate', { siteType: 'primary' })],
      ['site-certificate', withFields('site-certificate', { siteCode: 'abc' })],
      ['mp-certificate', withFields('mp-certificate', { urls: ['ftp://mp.test/'] })],
      ['mp-certificate', withFields('mp-certificate', { urls: ['https://user:pw@mp.test/'] })],
      ['client-registration', withFields('client-registration', { addresses: ['999.1.1.1'] })],
      [
        'client-report',
        withFields('client-report', { body: JSON.parse('{"__proto__":{"x":1}}') as unknown }),
      ],
      ['client-report', withFields('client-report', { body: [] })],
      ['site-message', withFields('site-message', { toSite: 'CHI' })],
    ];
    for (const [kind, value] of refused) {
      expect(
        codeOf(() => parsePayload(kind, bytesOf(value))),
        JSON.stringify(value).slice(0, 120),
      ).toBe('ERR_PAYLOAD_INVALID');
    }
    const env = samples['policy-body'] as { program: Record<string, Json> };
    const proto = `{"__proto__":"x"}`;
    const text = JSON.stringify({ ...env, program: { ...env.program, environment: {} } }).replace(
      '"environment":{}',
      `"environment":${proto}`,
    );
    expect(codeOf(() => parsePayload('policy-body', Buffer.from(text)))).toBe('ERR_PAYLOAD_INVALID');
    expect(codeOf(() => parsePayload('root', Buffer.from([0xc3, 0x28])))).toBe('ERR_PAYLOAD_INVALID');
  });

  it('refuse deeply nested report bodies', () => {
    let body: Json = { leaf: true };
    for (let depth = 0; depth < 20; depth += 1) body = { next: body };
    expect(codeOf(() => parsePayload('client-report', bytesOf(withFields('client-report', { body }))))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
  });
});
