/**
 * Directory settings are checked before any connection, and every directory error code is listed
 * in docs/errors.md under "## Directory" with its HTTP status.
 */
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  directoryErrorClasses,
  resolveDirectoryConfig,
  type DirectoryConfig,
} from '../../src/directory/index.js';
import { StewardError } from '../../src/trust/index.js';

const docs = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');

async function refused(config: DirectoryConfig): Promise<string> {
  const error = (await resolveDirectoryConfig(config).then(
    () => undefined,
    (e: unknown) => e,
  )) as StewardError | undefined;
  expect(error?.code).toBe('ERR_DIRECTORY_CONFIG');
  return error?.message ?? '';
}

describe('directory settings', () => {
  it('takes the base DN from the URL path and TLS from the scheme', async () => {
    const resolved = await resolveDirectoryConfig({
      url: 'ldaps://dc1.example.test:1636/dc=example,dc=test',
    });
    expect(resolved).toMatchObject({
      serverUrl: 'ldaps://dc1.example.test:1636',
      baseDn: 'dc=example,dc=test',
      tlsMode: 'ldaps',
    });
    expect((await resolveDirectoryConfig({ url: 'ldap://[::1]:389' })).host).toBe('::1');
  });

  it('refuses settings that cannot work or would leak', async () => {
    expect(await refused({ url: 'http://example.test/' })).toMatch(/ldap:\/\/ or ldaps:\/\//);
    expect(await refused({ url: 'ldap://u:p@example.test/' })).toMatch(/not in the URL/);
    expect(await refused({ url: 'ldap://example.test', tls: { mode: 'ldaps' } })).toMatch(/ldaps:\/\/ URL/);
    expect(await refused({ url: 'ldaps://example.test', tls: { mode: 'starttls' } })).toMatch(
      /ldap:\/\/ URL/,
    );
    expect(await refused({ url: 'ldap://example.test', tls: { mode: 'none', caFile: '/x' } })).toMatch(
      /TLS is off/,
    );
    expect(
      await refused({ url: 'ldap://example.test', bindDn: 'cn=a', password: 'x', passwordFile: '/x' }),
    ).toMatch(/not both/);
    expect(await refused({ url: 'ldap://example.test', bindDn: 'cn=a' })).toMatch(/password/);
    expect(
      await refused({ url: 'ldap://example.test', bindDn: 'cn=a', passwordFile: '/nonexistent/pw' }),
    ).toMatch(/cannot be read/);
  });

  it('reads a password file without its trailing newline, and refuses a large one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'steward-directory-config-'));
    try {
      await writeFile(join(dir, 'pw'), 'secret\n');
      expect(
        (await resolveDirectoryConfig({ url: 'ldap://x', bindDn: 'cn=a', passwordFile: join(dir, 'pw') }))
          .password,
      ).toBe('secret');
      await writeFile(join(dir, 'big'), 'x'.repeat(5000));
      expect(await refused({ url: 'ldap://x', bindDn: 'cn=a', passwordFile: join(dir, 'big') })).toMatch(
        /4 KiB/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('directory error codes', () => {
  const errors = directoryErrorClasses.map((Class) => new Class('m'));

  it('are StewardErrors with unique ERR_DIRECTORY_ codes', () => {
    const codes = errors.map((error) => error.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const error of errors) {
      expect(error).toBeInstanceOf(StewardError);
      expect(error.code).toMatch(/^ERR_DIRECTORY_[A-Z_]+$/);
    }
  });

  it('are each listed in docs/errors.md under "## Directory" with their HTTP status', () => {
    const start = docs.indexOf('\n## Directory');
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
