/**
 * Boundaries through the admin API of a running site (rights, audit, ERR_BOUNDARY_OVERLAP) and
 * through `steward boundary add|list|remove` (registerBoundaryCommands, run in-process against the
 * site's real listener).
 */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listAudit } from '../../src/admin/audit-log/index.js';
import { createAccount, grantRights, issueApiToken } from '../../src/admin/identity/index.js';
import { registerBoundaryCommands } from '../../src/cli/commands/boundary.js';
import { expectError, startTestSite, type TestSite } from '../support/site-fixture.js';

interface Boundary {
  id: string;
  siteCode: string;
  kind: string;
  value: string;
  description: string;
}

describe('boundaries: admin API and CLI', () => {
  let site: TestSite;
  let readOnlyToken: string;

  beforeAll(async () => {
    site = await startTestSite();
    const db = site.site.database.db;
    const reader = await createAccount(db, { name: 'reader', password: 'a long enough password' });
    await grantRights(db, reader.id, 'site', '*', ['read']);
    readOnlyToken = (await issueApiToken(db, reader.id, { name: 'reader' })).token;
    await db
      .insertInto('sites')
      .values({
        code: 'XYZ',
        name: 'Other',
        site_type: 'primary',
        parent_code: site.init.siteCode,
        site_key_id: '0'.repeat(64),
        certificate: null,
        is_local: false,
        updated_at: new Date(),
      })
      .execute();
  }, 60_000);

  afterAll(async () => {
    await site.stop();
  });

  it('adds, lists and removes boundaries, auditing each change', async () => {
    const added = await site.inject({
      method: 'POST',
      url: '/api/v1/boundaries',
      payload: { value: '10.20.0.0/16', description: 'Head office LAN' },
    });
    expect(added.statusCode).toBe(201);
    const boundary = added.json<Boundary>();
    expect(boundary).toMatchObject({ siteCode: 'ABC', kind: 'subnet', value: '10.20.0.0/16' });

    const other = await site.inject({
      method: 'POST',
      url: '/api/v1/boundaries',
      payload: { value: '192.0.2.0-192.0.2.127', kind: 'range', siteCode: 'XYZ' },
    });
    expect(other.statusCode).toBe(201);

    const listed = await site.inject({
      method: 'GET',
      url: '/api/v1/boundaries?siteCode=ABC',
      token: readOnlyToken,
    });
    expect(listed.statusCode).toBe(200);
    expect(listed.json<{ items: Boundary[] }>().items).toEqual([boundary]);

    const removed = await site.inject({ method: 'DELETE', url: `/api/v1/boundaries/${boundary.id}` });
    expect(removed.statusCode).toBe(200);
    expect(removed.json<{ deleted: Boundary }>().deleted).toEqual(boundary);
    expectError(
      await site.inject({ method: 'DELETE', url: `/api/v1/boundaries/${boundary.id}` }),
      404,
      'ERR_NOT_FOUND',
    );

    const audit = await listAudit(site.site.database.db, { afterSeq: 0, limit: 1000 });
    const actions = audit.filter((e) => e.action.startsWith('boundary.'));
    expect(actions.map((e) => [e.action, e.objectId])).toEqual([
      ['boundary.create', boundary.id],
      ['boundary.create', other.json<Boundary>().id],
      ['boundary.delete', boundary.id],
    ]);
    expect(actions[0]!.details).toEqual({ siteCode: 'ABC', kind: 'subnet', value: '10.20.0.0/16' });
  });

  it('refuses overlap with another site, bad text, unknown sites and callers without site modify', async () => {
    const overlap = expectError(
      await site.inject({ method: 'POST', url: '/api/v1/boundaries', payload: { value: '192.0.2.64/26' } }),
      409,
      'ERR_BOUNDARY_OVERLAP',
    );
    expect(overlap.error.message).toContain('of site XYZ');
    expectError(
      await site.inject({ method: 'POST', url: '/api/v1/boundaries', payload: { value: '192.0.2.1/24' } }),
      400,
      'ERR_BOUNDARY_INVALID',
    );
    expectError(
      await site.inject({
        method: 'POST',
        url: '/api/v1/boundaries',
        payload: { value: '10.9.0.0/16', siteCode: 'QQQ' },
      }),
      400,
      'ERR_INVALID_REQUEST',
    );
    expectError(
      await site.inject({
        method: 'POST',
        url: '/api/v1/boundaries',
        payload: { value: '10.9.0.0/16', extra: true },
      }),
      400,
      'ERR_INVALID_REQUEST',
    );
    expectError(
      await site.inject({
        method: 'POST',
        url: '/api/v1/boundaries',
        payload: { value: '10.9.0.0/16' },
        token: readOnlyToken,
      }),
      403,
      'ERR_FORBIDDEN',
    );
    expectError(
      await site.inject({ method: 'GET', url: '/api/v1/boundaries', token: null }),
      401,
      'ERR_UNAUTHENTICATED',
    );
    const all = await site.inject({ method: 'GET', url: '/api/v1/boundaries' });
    expect(all.json<{ items: Boundary[] }>().items.map((b) => b.value)).toEqual(['192.0.2.0-192.0.2.127']);
  });

  it('steward boundary add | list | remove, with --json and with error lines', async () => {
    const run = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerBoundaryCommands(program);
      let stdout = '';
      let stderr = '';
      const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        stdout += String(chunk);
        return true;
      });
      const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
        stderr += String(chunk);
        return true;
      });
      const previousExitCode = process.exitCode;
      process.exitCode = undefined;
      try {
        await program.parseAsync(['node', 'steward', 'boundary', ...args, '--site', site.site.url]);
        return { stdout, stderr, exitCode: Number((process.exitCode as number | string | undefined) ?? 0) };
      } finally {
        out.mockRestore();
        err.mockRestore();
        process.exitCode = previousExitCode;
      }
    };
    vi.stubEnv('STEWARD_TOKEN', site.token);
    try {
      const added = await run('add', '2001:DB8:0:0::/48', '--description', 'v6 lab', '--json');
      expect(added.exitCode).toBe(0);
      const boundary = JSON.parse(added.stdout) as Boundary;
      expect(boundary).toMatchObject({ value: '2001:db8::/48', siteCode: 'ABC', description: 'v6 lab' });

      const human = await run('add', '198.51.100.0/24', '--site-code', 'XYZ');
      expect(human.stdout).toMatch(/^Boundary bnd-[0-9a-f]{12}: subnet 198\.51\.100\.0\/24 -> site XYZ\n$/);

      const listed = await run('list', '--site-code', 'ABC');
      expect(listed.stdout).toContain('2001:db8::/48');
      expect(listed.stdout).not.toContain('198.51.100.0/24');
      expect(listed.stdout.split('\n')[0]).toMatch(/^ID\s+SITE\s+KIND\s+BOUNDARY\s+DESCRIPTION$/);

      const refused = await run('add', '198.51.100.128/25');
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/^error ERR_BOUNDARY_OVERLAP: /);

      const removed = await run('remove', boundary.id, '--json');
      expect(JSON.parse(removed.stdout)).toEqual(boundary);
      const again = await run('remove', boundary.id);
      expect(again.stderr).toMatch(/^error ERR_NOT_FOUND: /);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
