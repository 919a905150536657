/**
 * Every trust error code is listed in docs/errors.md with its HTTP status, and no message of a
 * trust error carries key material.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { StewardError, trustErrorClasses } from '../../src/trust/index.js';

const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');

function trustSection(text: string): string {
  const start = text.indexOf('## Trust');
  const next = text.indexOf('\n## ', start + 1);
  return text.slice(start, next === -1 ? undefined : next);
}

describe('trust error codes', () => {
  it('are unique, start with ERR_, and are StewardErrors', () => {
    const errors = trustErrorClasses.map((ErrorClass) => new ErrorClass('message'));
    const codes = errors.map((error) => error.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const error of errors) {
      expect(error).toBeInstanceOf(StewardError);
      expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
      expect(error.name).toBe(error.constructor.name);
    }
  });

  it('are each listed in docs/errors.md under "## Trust" with their HTTP status', () => {
    const section = trustSection(docs);
    expect(section).toMatch(/\|\s*code\s*\|\s*HTTP\s*\|\s*meaning\s*\|/);
    for (const ErrorClass of trustErrorClasses) {
      const error = new ErrorClass('message');
      expect(section, error.code).toMatch(
        new RegExp(`\\|\\s*\`?${error.code}\`?\\s*\\|\\s*${error.status}\\s*\\|`),
      );
    }
  });
});
