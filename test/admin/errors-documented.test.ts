/** Every admin error code is listed in docs/errors.md under "## Admin" with its HTTP status. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { AuditChainBrokenError } from '../../src/admin/audit-log/index.js';
import {
  ForbiddenError,
  RateLimitedError,
  UnauthenticatedError,
  WeakPasswordError,
} from '../../src/admin/identity/index.js';
import { StewardError } from '../../src/trust/index.js';

const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');

const adminErrors: StewardError[] = [
  new UnauthenticatedError('m'),
  new ForbiddenError('m'),
  new WeakPasswordError('m'),
  new RateLimitedError('m', 1),
  new AuditChainBrokenError('m', 1),
];

describe('admin error codes', () => {
  it('are StewardErrors with unique ERR_ codes', () => {
    const codes = adminErrors.map((error) => error.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const error of adminErrors) {
      expect(error).toBeInstanceOf(StewardError);
      expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
    }
  });

  it('are each listed in docs/errors.md under "## Admin" with their HTTP status', () => {
    const start = docs.indexOf('\n## Admin');
    expect(start).toBeGreaterThan(-1);
    const next = docs.indexOf('\n## ', start + 1);
    const section = docs.slice(start, next === -1 ? undefined : next);
    for (const error of adminErrors) {
      expect(section, error.code).toMatch(
        new RegExp(`\\|\\s*\`${error.code}\`\\s*\\|\\s*${error.status}\\s*\\|`),
      );
    }
  });
});
