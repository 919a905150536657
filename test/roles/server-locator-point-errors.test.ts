/**
 * Every locator error code (boundaries, server locator point, agent locators) is a StewardError
 * with a unique code, listed in docs/errors.md under "## Locator" with its HTTP status.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { locateErrorClasses } from '../../src/agent/locate/index.js';
import { serverLocatorErrorClasses } from '../../src/roles/server-locator-point/index.js';
import { boundaryErrorClasses } from '../../src/site/boundaries/index.js';
import { StewardError } from '../../src/trust/index.js';

const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const errors = [...boundaryErrorClasses, ...serverLocatorErrorClasses, ...locateErrorClasses].map(
  (ErrorClass) => new ErrorClass('message'),
);

describe('locator error codes', () => {
  it('are StewardErrors with unique ERR_ codes', () => {
    const codes = errors.map((error) => error.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const error of errors) {
      expect(error).toBeInstanceOf(StewardError);
      expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
    }
  });

  it('are each listed in docs/errors.md under "## Locator" with their HTTP status', () => {
    const start = docs.indexOf('\n## Locator');
    expect(start).toBeGreaterThan(-1);
    const next = docs.indexOf('\n## ', start + 1);
    const section = docs.slice(start, next === -1 ? undefined : next);
    for (const error of errors) {
      expect(section, error.code).toMatch(
        new RegExp(`\\|\\s*\`${error.code}\`\\s*\\|\\s*${error.status}\\s*\\|`),
      );
    }
  });

  it('do not reuse a code defined elsewhere in docs/errors.md', () => {
    for (const error of errors) {
      const rows = docs.match(new RegExp(`^\\|\\s*\`${error.code}\`\\s*\\|`, 'gm')) ?? [];
      expect(rows, error.code).toHaveLength(1);
    }
  });
});
