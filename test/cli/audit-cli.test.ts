/**
 * `steward audit` against real site processes (issue 8, item 2): the exit status (1 with
 * `error ERR_AUDIT_FAILED` when a check fails, 0 when none does, warnings allowed), `--json` (the
 * whole report, also when it fails), `--data DIR` and `--site URL` with STEWARD_TOKEN, the human
 * report, no secret in any output, and plain HTTP on a network address (`--insecure-http`) failing.
 */
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecurityAuditReport } from '../../src/audit/index.js';
import { initCentralSite } from '../../src/site/init/site-init.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { testKeyFileCost } from '../support/site-fixture.js';
import { createSiteProcess, freePort, type SiteProcess } from '../support/site-process.js';
import { runSteward, startSteward, stopAllStewardProcesses, waitUntil } from '../support/steward-process.js';

/** An IPv4 address of this machine other than loopback, for a listener other machines could reach. */
function networkAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

describe('steward audit', { timeout: 120_000 }, () => {
  let site: SiteProcess;
  let password: string;
  beforeAll(async () => {
    site = await createSiteProcess('CLA');
    password = (JSON.parse(await readFile(site.init.credentialsPath, 'utf8')) as { password: string })
      .password;
  });
  afterAll(async () => {
    await stopAllStewardProcesses();
    await rm(site.dir, { recursive: true, force: true });
  });

  it('exits 1 with ERR_AUDIT_FAILED when a check fails, and prints the whole report with --json', async () => {
    const result = await runSteward(['audit', '--data', site.dataDir, '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('error ERR_AUDIT_FAILED: 1 of 18 checks failed: root-key-offline');
    const report = JSON.parse(result.stdout) as SecurityAuditReport;
    expect(report.site.code).toBe('CLA');
    expect(report.checks).toHaveLength(18);
    expect(report.passed).toBe(false);
    expect(report.checks.find((c) => c.id === 'root-key-offline')).toMatchObject({ result: 'fail' });
  });

  it('prints a readable report with the evidence and what to change, and no secret', async () => {
    const result = await runSteward(['audit', '--data', site.dataDir]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^Security audit of site CLA "Site CLA" \(central\) at http:\/\/127\.0\.0\.1:/,
    );
    expect(result.stdout).toMatch(/^PASS {4}advanced-security: Use advanced security/m);
    expect(result.stdout).toMatch(/^FAIL {4}root-key-offline: Keep the root key offline/m);
    expect(result.stdout).toMatch(/^ {8}The root key is online \(keys\/root-1\.key\)/m);
    expect(result.stdout).toMatch(/^ {8}To fix: Move the root key files to offline storage/m);
    expect(result.stdout).toMatch(/^13 passed, 4 warned, 1 failed: the failed checks say what to change\.$/m);
    const secret = await readFile(siteDataLayout(site.dataDir).keySecret);
    for (const output of [result.stdout, result.stderr]) {
      expect(output).not.toContain(password);
      expect(output).not.toContain(site.token);
      expect(output).not.toContain(site.init.enrolmentToken);
      expect(output).not.toContain(secret.toString('base64'));
    }
  });

  it('exits 0 once nothing fails (warnings allowed), reached by --site URL with STEWARD_TOKEN', async () => {
    await rename(siteDataLayout(site.dataDir).rootKey(1), join(site.dir, 'offline-root-1.key'));
    const result = await runSteward(['audit', '--site', site.url, '--json'], {
      env: { STEWARD_TOKEN: site.token },
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as SecurityAuditReport;
    expect(report.passed).toBe(true);
    expect(report.summary).toEqual({ pass: 14, warn: 4, fail: 0 });
    const human = await runSteward(['audit', '--site', site.url], { env: { STEWARD_TOKEN: site.token } });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^14 passed, 4 warned, 0 failed\.$/m);
  });

  it('says which site to audit when given none, and refuses a wrong token', async () => {
    const none = await runSteward(['audit'], { env: { STEWARD_TOKEN: '' } });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error ERR_USAGE: /);
    const wrong = await runSteward(['audit', '--site', site.url], {
      env: { STEWARD_TOKEN: `stw_${'A'.repeat(43)}` },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error ERR_UNAUTHENTICATED: /);
  });

  const address = networkAddress();
  it.skipIf(address === undefined)(
    `fails no-plain-http on a site started with --insecure-http on a network address (${address ?? 'none here'})`,
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'steward-insecure-'));
      try {
        const dataDir = join(dir, 'site');
        const port = await freePort();
        await initCentralSite({
          dataDir,
          code: 'INS',
          name: 'Plain HTTP',
          listen: `${address ?? ''}:${port}`,
          publicUrl: null,
          database: null,
          passphrase: null,
          approval: 'token',
          now: new Date(),
          keyFileCost: testKeyFileCost,
        });
        const server = startSteward([
          'site',
          'start',
          '--data',
          dataDir,
          '--tls',
          'never',
          '--insecure-http',
        ]);
        await waitUntil(async () => {
          if (!server.running()) throw new Error(`the site server exited: ${server.stderr()}`);
          return (await fetch(`http://${address ?? ''}:${port}/health`)).ok;
        }, 'the plain-HTTP site');
        const result = await runSteward(['audit', '--data', dataDir, '--json']);
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(/checks failed: .*no-plain-http/);
        const check = (JSON.parse(result.stdout) as SecurityAuditReport).checks.find(
          (c) => c.id === 'no-plain-http',
        );
        expect(check).toMatchObject({ result: 'fail' });
        expect(check?.evidence).toContain(`--insecure-http), at http://${address ?? ''}:${port}`);
        await server.stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
