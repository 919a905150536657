/**
 * C5 manifest path rules (property tests): every generated escaping path is refused; safe paths are
 * accepted; duplicates, file-and-folder conflicts and a wrong totalSize are refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSafeContentPath, parsePayload, sha256Hex, type StewardError } from '../../src/trust/index.js';
import { withFields } from './support/pki.js';

const safeSegment = fc
  .stringMatching(/^[A-Za-z0-9 ._~+-]{1,20}$/)
  .filter((segment) => segment !== '.' && segment !== '..');
const safePath = fc.array(safeSegment, { minLength: 1, maxLength: 6 }).map((segments) => segments.join('/'));

const badSegment = fc.oneof(
  fc.constant('..'),
  fc.constant('.'),
  fc.constant(''),
  fc.constant('a\\b'),
  fc.constant('..\\..'),
  fc.constant('C:'),
  fc.constant('file.txt:stream'),
  fc.integer({ min: 0, max: 0x1f }).map((code) => `x${String.fromCharCode(code)}y`),
  fc.constant('\u007f'),
);

/** Paths that would escape the package folder or be ambiguous on some platform. */
const escapingPath = fc.oneof(
  fc
    .tuple(fc.array(safeSegment, { maxLength: 3 }), badSegment, fc.array(safeSegment, { maxLength: 3 }))
    .map(([before, bad, after]) => [...before, bad, ...after].join('/'))
    .filter((path) =>
      // eslint-disable-next-line no-control-regex -- the generator must produce control characters on purpose
      path.split('/').some((s) => s === '' || s === '.' || s === '..' || /[\\:\u0000-\u001f\u007f]/.test(s)),
    ),
  safePath.map((path) => `/${path}`),
  safePath.map((path) => `${path}/`),
  safePath.map((path) => path.replaceAll('/', '\\')).filter((path) => path.includes('\\')),
  fc.constant('x'.repeat(1025)),
  fc.constant(''),
);

function manifestWith(files: { path: string; size: number }[], totalSize?: number) {
  return Buffer.from(
    JSON.stringify(
      withFields('content-manifest', {
        files: files.map((file) => ({ ...file, sha256: sha256Hex(file.path) })),
        totalSize: totalSize ?? files.reduce((sum, file) => sum + file.size, 0),
      }),
    ),
  );
}

function codeOf(bytes: Uint8Array): string {
  try {
    parsePayload('content-manifest', bytes);
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

describe('C5 content manifest paths', () => {
  it('refuses every generated escaping path (property)', () => {
    fc.assert(
      fc.property(escapingPath, (path) => {
        expect(isSafeContentPath(path)).toBe(false);
        expect(codeOf(manifestWith([{ path, size: 1 }]))).toBe('ERR_PAYLOAD_INVALID');
      }),
      { numRuns: 500 },
    );
  });

  it('accepts safe relative paths (property)', () => {
    fc.assert(
      fc.property(safePath, (path) => {
        expect(isSafeContentPath(path)).toBe(true);
        expect(codeOf(manifestWith([{ path, size: 1 }]))).toBe('accepted');
      }),
    );
  });

  it('refuses known escapes', () => {
    for (const path of [
      '../etc/passwd',
      'a/../../b',
      '/etc/passwd',
      'a//b',
      './a',
      'a/.',
      'a\\..\\b',
      'C:/x',
      'a\u0000b',
      'a\nb',
    ]) {
      expect(isSafeContentPath(path), path).toBe(false);
    }
    expect(isSafeContentPath('x'.repeat(1024))).toBe(true);
    expect(isSafeContentPath('...')).toBe(true);
  });

  it('refuses duplicate paths (case-sensitively) and a file that is also a folder', () => {
    expect(
      codeOf(
        manifestWith([
          { path: 'a/b', size: 1 },
          { path: 'a/b', size: 1 },
        ]),
      ),
    ).toBe('ERR_PAYLOAD_INVALID');
    expect(
      codeOf(
        manifestWith([
          { path: 'a/b', size: 1 },
          { path: 'A/b', size: 1 },
        ]),
      ),
    ).toBe('accepted');
    expect(
      codeOf(
        manifestWith([
          { path: 'a', size: 1 },
          { path: 'a/b', size: 1 },
        ]),
      ),
    ).toBe('ERR_PAYLOAD_INVALID');
    expect(
      codeOf(
        manifestWith([
          { path: 'a/b/c', size: 1 },
          { path: 'a/b', size: 1 },
        ]),
      ),
    ).toBe('ERR_PAYLOAD_INVALID');
    expect(
      codeOf(
        manifestWith([
          { path: 'a', size: 1 },
          { path: 'a-b/c', size: 1 },
          { path: 'ab', size: 1 },
        ]),
      ),
    ).toBe('accepted');
  });

  it('requires totalSize to be the sum of the sizes, and 1..10000 files', () => {
    expect(
      codeOf(
        manifestWith(
          [
            { path: 'a', size: 3 },
            { path: 'b', size: 4 },
          ],
          8,
        ),
      ),
    ).toBe('ERR_PAYLOAD_INVALID');
    expect(codeOf(manifestWith([], 0))).toBe('ERR_PAYLOAD_INVALID');
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ path: `f/${i}`, size: 1 }));
    expect(codeOf(manifestWith(many(10_000)))).toBe('accepted');
    expect(codeOf(manifestWith(many(10_001)))).toBe('ERR_PAYLOAD_INVALID');
    expect(codeOf(manifestWith([{ path: 'a', size: -1 }], -1))).toBe('ERR_PAYLOAD_INVALID');
    expect(codeOf(manifestWith([{ path: 'a', size: 1.5 }], 1.5))).toBe('ERR_PAYLOAD_INVALID');
  });
});
