/**
 * Every TLS error code is listed in docs/errors.md under "## TLS" with its HTTP status.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { StewardError, tlsErrorClasses, trustErrorClasses } from '../../src/trust/index.js';

const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');

function section(text: string, title: string): string {
  const start = text.indexOf(`## ${title}\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const next = text.indexOf('\n## ', start + 1);
  return text.slice(start, next === -1 ? undefined : next);
}

describe('TLS error codes', () => {
  it('are unique StewardErrors, distinct from the trust codes', () => {
    const codes = tlsErrorClasses.map((ErrorClass) => new ErrorClass('message').code);
    const trustCodes = new Set<string>(trustErrorClasses.map((ErrorClass) => new ErrorClass('message').code));
    expect(new Set(codes).size).toBe(codes.length);
    for (const ErrorClass of tlsErrorClasses) {
      const error = new ErrorClass('message');
      expect(error).toBeInstanceOf(StewardError);
      expect(error.code).toMatch(/^ERR_(TLS|HTTPS)_[A-Z_]+$/);
      expect(trustCodes.has(error.code)).toBe(false);
    }
  });

  it('are each listed in docs/errors.md under "## TLS" with their HTTP status', () => {
    const tls = section(docs, 'TLS');
    expect(tls).toMatch(/\|\s*code\s*\|\s*HTTP\s*\|\s*meaning\s*\|/);
    for (const ErrorClass of tlsErrorClasses) {
      const error = new ErrorClass('message');
      expect(tls, error.code).toMatch(
        new RegExp(`\\|\\s*\`${error.code}\`\\s*\\|\\s*${error.status}\\s*\\|`),
      );
    }
  });
});
