/** Every content error code is listed in docs/errors.md under "## Content" with its HTTP status. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { distributionPointErrorClasses } from '../../src/roles/distribution-point/index.js';
import { ContentCorruptError, contentErrorClasses } from '../../src/site/content-library/index.js';
import { StewardError } from '../../src/trust/index.js';

const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const errors: StewardError[] = [
  ...contentErrorClasses.map((ErrorClass) => new ErrorClass('m')),
  ...distributionPointErrorClasses.map((ErrorClass) => new ErrorClass(1)),
];

describe('content error codes', () => {
  it('are StewardErrors with unique ERR_ codes', () => {
    const codes = errors.map((error) => error.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const error of errors) {
      expect(error).toBeInstanceOf(StewardError);
      expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
    }
    expect(new ContentCorruptError('m').retryable).toBe(true);
  });

  it('are each listed in docs/errors.md under "## Content" with their HTTP status', () => {
    const start = docs.indexOf('\n## Content');
    expect(start).toBeGreaterThan(-1);
    const next = docs.indexOf('\n## ', start + 1);
    const section = docs.slice(start, next === -1 ? undefined : next);
    for (const error of errors) {
      expect(section, error.code).toMatch(
        new RegExp(`\\|\\s*\`${error.code}\`\\s*\\|\\s*${error.status}\\s*\\|`),
      );
    }
  });
});
