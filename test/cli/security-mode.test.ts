/**
 * Security modes (issue 8, item 3; docs/audit.md, "Security modes"): `steward site init
 * --security-mode standard` makes a standard site, which the audit fails; `steward site
 * security-mode advanced` switches it (site stopped; written to site.json and the audit log; the
 * audit passes it after the restart); switching back to standard is refused with
 * ERR_SECURITY_MODE_DOWNGRADE and changes nothing.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SecurityAuditReport } from '../../src/audit/index.js';
import { initCentralSite } from '../../src/site/init/site-init.js';
import { checkModeChange, securityModeOf } from '../../src/site/security-mode/index.js';
import { testKeyFileCost } from '../support/site-fixture.js';
import { freePort } from '../support/site-process.js';
import {
  runSteward,
  runStewardJson,
  startSteward,
  stopAllStewardProcesses,
  waitUntil,
  type StewardProcess,
} from '../support/steward-process.js';

describe('security modes', () => {
  it('allows standard to advanced and refuses advanced to standard', () => {
    expect(checkModeChange('standard', 'advanced')).toBe('upgraded');
    expect(checkModeChange('advanced', 'advanced')).toBe('unchanged');
    expect(checkModeChange('standard', 'standard')).toBe('unchanged');
    expect(() => checkModeChange('advanced', 'standard')).toThrow(
      expect.objectContaining({ code: 'ERR_SECURITY_MODE_DOWNGRADE', status: 409 }),
    );
    expect(securityModeOf({})).toBe('advanced');
  });

  describe('through the command line', { timeout: 180_000 }, () => {
    const dirs: string[] = [];
    afterAll(async () => {
      await stopAllStewardProcesses();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it('makes a standard site, fails it in the audit, switches it to advanced and refuses going back', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'steward-mode-'));
      dirs.push(dir);
      const dataDir = join(dir, 'site');
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const siteJson = async () =>
        JSON.parse(await readFile(join(dataDir, 'site.json'), 'utf8')) as { securityMode?: string };

      const badMode = await runSteward([
        'site',
        'init',
        '--data',
        dataDir,
        '--code',
        'STD',
        '--security-mode',
        'weak',
      ]);
      expect(badMode.code).toBe(1);
      expect(badMode.stderr).toMatch(/^error ERR_USAGE: --security-mode is advanced or standard/);
      const child = await runSteward([
        'site',
        'init',
        '--data',
        join(dir, 'child'),
        '--code',
        'CHD',
        '--parent',
        url,
        '--join-token',
        'stj1.x',
        '--security-mode',
        'standard',
      ]);
      expect(child.code).toBe(1);
      expect(child.stderr).toMatch(/^error ERR_USAGE: a site that joins a hierarchy uses advanced security/);

      // The site itself is made in process, with the test key cost (the CLI's full scrypt cost takes
      // half a minute); `--security-mode standard` reaches initCentralSite as this option does.
      await initCentralSite({
        dataDir,
        code: 'STD',
        name: 'Standard site',
        listen: `127.0.0.1:${port}`,
        publicUrl: null,
        database: null,
        passphrase: null,
        approval: 'token',
        securityMode: 'standard',
        now: new Date(),
        keyFileCost: testKeyFileCost,
      });
      expect((await siteJson()).securityMode).toBe('standard');

      let server: StewardProcess = startSteward(['site', 'start', '--data', dataDir]);
      const started = async () =>
        waitUntil(async () => {
          if (!server.running()) throw new Error(`the site server exited: ${server.stderr()}`);
          return (await fetch(`${url}/health`)).ok;
        }, 'the site server');
      await started();
      const audit = async () => {
        const result = await runSteward(['audit', '--data', dataDir, '--json']);
        return JSON.parse(result.stdout) as SecurityAuditReport;
      };
      const before = (await audit()).checks.find((c) => c.id === 'advanced-security');
      expect(before).toMatchObject({ result: 'fail' });
      expect(before?.evidence).toContain('standard security mode');

      // The switch waits for the site to stop: it takes the data folder's lock.
      const whileRunning = await runSteward(['site', 'security-mode', 'advanced', '--data', dataDir]);
      expect(whileRunning.code).toBe(1);
      expect(whileRunning.stderr).toMatch(/^error ERR_DATA_FOLDER_LOCKED: /);
      expect((await siteJson()).securityMode).toBe('standard');
      await server.stop();

      expect(await runStewardJson(['site', 'security-mode', 'standard', '--data', dataDir])).toEqual({
        site: 'STD',
        from: 'standard',
        to: 'standard',
        changed: false,
        revokedSharedCredentials: 0,
      });
      const switched = await runSteward(['site', 'security-mode', 'advanced', '--data', dataDir]);
      expect(switched.code).toBe(0);
      expect(switched.stdout).toContain(
        'Site STD: security mode standard → advanced. It applies when the site server starts.',
      );
      expect((await siteJson()).securityMode).toBe('advanced');

      const back = await runSteward(['site', 'security-mode', 'standard', '--data', dataDir]);
      expect(back.code).toBe(1);
      expect(back.stderr).toMatch(/^error ERR_SECURITY_MODE_DOWNGRADE: this site uses advanced security/);
      expect((await siteJson()).securityMode).toBe('advanced');
      const unknown = await runSteward(['site', 'security-mode', 'basic', '--data', dataDir]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/^error ERR_USAGE: /);

      server = startSteward(['site', 'start', '--data', dataDir]);
      await started();
      expect((await audit()).checks.find((c) => c.id === 'advanced-security')).toMatchObject({
        result: 'pass',
      });
      const { token } = JSON.parse(await readFile(join(dataDir, 'admin-credentials.json'), 'utf8')) as {
        token: string;
      };
      const response = await fetch(`${url}/api/v1/audit?limit=1000`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const log = (await response.json()) as { items: { action: string; actor: string; details: unknown }[] };
      expect(log.items.filter((e) => e.action === 'site.security-mode')).toEqual([
        expect.objectContaining({
          actor: 'steward site security-mode',
          details: { from: 'standard', to: 'advanced' },
        }),
      ]);
      await server.stop();
    });
  });
});
