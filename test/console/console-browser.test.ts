/**
 * The web console in a real browser (issue 8, item 1): Debian's Chromium driven by playwright-core
 * against a real site (`steward site start`) and real agents (`steward agent enroll`, `steward
 * agent run`). An administrator signs in, pages through clients on the server, creates a collection
 * while its live preview counts the members, imports a package, deploys it to two agents and
 * watches the progress reach 100%. Screenshots of the main pages go to test-artifacts/console/.
 */
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page, Request } from 'playwright-core';
import { databaseLocation, openSiteDatabase } from '../../src/site/database/open.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { sha256Hex } from '../../src/trust/index.js';
import { createSiteProcess, type SiteProcess } from '../support/site-process.js';
import { runStewardJson, startSteward, stopAllStewardProcesses } from '../support/steward-process.js';
import { artifactsDir, chromiumSkipReason, launchChromium, type Browser } from './chromium.js';

const skipReason = chromiumSkipReason();
const pagingClients = 250;
const agentNames = ['web-agent-1', 'web-agent-2'];
const markerScript = 'echo "installed by the console test" > "$STEWARD_AGENT_DIR/console-marker"\n';

/** Seeds clients straight into the stopped site's database: the console must page them on the server. */
async function seedClients(site: SiteProcess, count: number): Promise<void> {
  await site.stop();
  const database = await openSiteDatabase(databaseLocation(undefined, siteDataLayout(site.dataDir).database));
  try {
    const now = new Date();
    const rows = Array.from({ length: count }, (_, index) => {
      const hostname = `paging-client-${String(index).padStart(3, '0')}`;
      const state: 'revoked' | 'pending' | 'approved' =
        index % 25 === 0 ? 'revoked' : index % 10 === 1 ? 'pending' : 'approved';
      return {
        id: sha256Hex(hostname),
        public_key: `test-key-${index}`,
        site_code: site.init.siteCode,
        hostname,
        state,
        mode: 'secure' as const,
        root_source: 'pinned' as const,
        approved_by: state === 'pending' ? null : 'seed',
        registered_at: now,
        approved_at: state === 'pending' ? null : now,
        revoked_at: state === 'revoked' ? now : null,
        last_seen_at: null,
      };
    });
    await database.db.insertInto('clients').values(rows).execute();
  } finally {
    await database.close();
  }
  await site.start();
}

async function rowsOf(page: Page, testId: string): Promise<number> {
  return page.getByTestId(testId).locator('tbody tr').count();
}

async function waitForText(page: Page, testId: string, text: string | RegExp, timeout = 15_000) {
  await page.getByTestId(testId).filter({ hasText: text }).first().waitFor({ state: 'visible', timeout });
}

describe.skipIf(skipReason !== undefined)(
  `the web console in Chromium${skipReason === undefined ? '' : ` (skipped: ${skipReason})`}`,
  () => {
    let site: SiteProcess;
    let browser: Browser;
    /** What beforeAll got as far as starting, for afterAll to stop even when it failed half way. */
    const started: { site?: SiteProcess; browser?: Browser } = {};
    let password: string;
    let page: Page;
    const apiRequests: string[] = [];

    beforeAll(async () => {
      site = await createSiteProcess('WEB');
      started.site = site;
      password = (JSON.parse(await readFile(site.init.credentialsPath, 'utf8')) as { password: string })
        .password;
      await seedClients(site, pagingClients);
      browser = await launchChromium();
      started.browser = browser;
      page = browser.page;
      page.on('request', (request: Request) => {
        const url = new URL(request.url());
        if (url.pathname.startsWith('/api/v1/'))
          apiRequests.push(`${request.method()} ${url.pathname}${url.search}`);
      });
    }, 180_000);

    afterAll(async () => {
      await started.browser?.close();
      await stopAllStewardProcesses();
      if (started.site !== undefined) await rm(started.site.dir, { recursive: true, force: true });
    });

    it('refuses a wrong password, then signs in and shows the overview', async () => {
      await page.goto(`${site.url}/`);
      expect(new URL(page.url()).pathname).toBe('/console/');
      await page.locator('input[name=account]').fill('admin');
      await page.locator('input[name=password]').fill('not the password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor();
      await browser.screenshot('sign-in');

      await page.locator('input[name=password]').fill(password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await waitForText(page, 'signed-in-as', 'admin');
      await waitForText(page, 'site-code', 'WEB');
      await expect.poll(() => page.getByTestId('clients-approved').textContent()).toBe('215');
      expect(await page.getByTestId('clients-pending').textContent()).toBe('25');
      expect(await page.getByTestId('clients-revoked').textContent()).toBe('10');
      // The token lives in this tab's sessionStorage only: never in localStorage or a cookie.
      // (Evaluated in the page: written as text, since the tests are typed without the DOM.)
      const stored = await page.evaluate<{ session: string | null; local: number; cookie: string }>(
        `({ session: sessionStorage.getItem('steward.console.session'), local: localStorage.length, cookie: document.cookie })`,
      );
      expect(stored.session).toMatch(/"token":"stw_/);
      expect(stored.local).toBe(0);
      expect(stored.cookie).toBe('');
      expect(apiRequests.every((r) => !r.includes(password) && !r.includes('stw_'))).toBe(true);
      await browser.screenshot('overview');
    });

    it('pages through 250 clients on the server, searches and filters there, approves and revokes', async () => {
      await page.getByTestId('nav-clients').click();
      await page.getByTestId('clients-table').waitFor();
      apiRequests.length = 0;
      // The search is sent once typing pauses; wait for that page before paging on.
      const searched = page.waitForResponse(
        (response) => response.url().includes('search=paging-client') && response.url().includes('limit=100'),
      );
      await page.getByTestId('client-search').fill('paging-client');
      await page.getByTestId('page-size').selectOption('100');
      await searched;
      await waitForText(page, 'pager-status', 'Page 1 · clients 1–100');
      expect(await rowsOf(page, 'clients-table')).toBe(100);
      await page.getByRole('button', { name: 'Next →' }).click();
      await waitForText(page, 'pager-status', 'Page 2 · clients 101–200');
      expect(await rowsOf(page, 'clients-table')).toBe(100);
      await page.getByRole('button', { name: 'Next →' }).click();
      await waitForText(page, 'pager-status', 'Page 3 · clients 201–250');
      expect(await rowsOf(page, 'clients-table')).toBe(50);
      expect(await page.getByRole('button', { name: 'Next →' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: '← Previous' }).click();
      await waitForText(page, 'pager-status', 'Page 2 · clients 101–200');

      // Every list request asked the server for one page: a limit, a cursor after the first page.
      const listRequests = apiRequests.filter((r) => r.startsWith('GET /api/v1/clients?'));
      expect(listRequests.length).toBeGreaterThanOrEqual(3);
      const params = listRequests.map((r) => new URLSearchParams(r.split('?')[1]));
      expect(params.every((p) => Number(p.get('limit')) <= 100)).toBe(true);
      expect(
        params.filter((p) => p.get('search') === 'paging-client' && p.get('limit') === '100'),
      ).not.toHaveLength(0);
      expect(params.filter((p) => p.get('after') !== null).length).toBeGreaterThanOrEqual(2);
      await browser.screenshot('clients');

      await page.getByTestId('client-search').fill('paging-client-042');
      await waitForText(page, 'pager-status', 'Page 1 · clients 1–1');
      await page.getByTestId('client-search').fill('paging-client');
      await page.getByTestId('client-state').selectOption('revoked');
      await waitForText(page, 'pager-status', 'Page 1 · clients 1–10');

      // A pending client: approve it, then revoke it (revocation asks again first).
      await page.getByTestId('client-state').selectOption('pending');
      await waitForText(page, 'pager-status', /Page 1 · clients 1–25/);
      await page.getByRole('link', { name: 'paging-client-001', exact: true }).click();
      await waitForText(page, 'client-detail-state', 'pending');
      await page.getByRole('button', { name: 'Approve' }).click();
      await waitForText(page, 'client-detail-state', 'approved');
      await page.getByRole('button', { name: 'Revoke…' }).click();
      await page.getByRole('button', { name: 'Revoke for good' }).click();
      await waitForText(page, 'client-detail-state', 'revoked');
    });

    it('creates a collection with a live preview, imports a package, deploys it to two agents and reaches 100%', async () => {
      // Two real agents: enrolled with the root pinned, then polling every second.
      const enrolled = await Promise.all(
        agentNames.map((hostname) =>
          runStewardJson<{ clientId: string; state: string }>([
            'agent',
            'enroll',
            '--data',
            join(site.dir, hostname),
            '--mp',
            site.url,
            '--root-key',
            site.init.rootFingerprint,
            '--mode',
            'secure',
            '--token',
            site.init.enrolmentToken,
            '--hostname',
            hostname,
          ]),
        ),
      );
      expect(enrolled.map((e) => e.state)).toEqual(['approved', 'approved']);
      for (const hostname of agentNames) {
        startSteward(['agent', 'run', '--data', join(site.dir, hostname), '--poll-interval', '1']);
      }

      // The collection, with the preview counting members as the rule is typed.
      await page.getByTestId('nav-collections').click();
      await page.getByRole('button', { name: 'New collection' }).click();
      await page.locator('input[name=name]').fill('web agents');
      const rule = page.locator('textarea[name=rule]');
      await rule.fill('client.hostname ~ "paging-client-00*"');
      await waitForText(page, 'preview-count', '10 clients match');
      await rule.fill('client.hostname ~');
      await page.getByTestId('preview-error').waitFor();
      await rule.fill('client.hostname ~ "web-agent-1"');
      await waitForText(page, 'preview-count', '1 client matches');
      await rule.fill('client.hostname ~ "web-agent-*"');
      await waitForText(page, 'preview-count', '2 clients match');
      await browser.screenshot('collection-preview');
      await page.getByRole('button', { name: 'Create collection' }).click();
      await waitForText(page, 'collection-members', '2');
      await browser.screenshot('collection');

      // The package, imported from a folder on the site server, with the job's progress.
      const source = join(site.dir, 'console-package');
      await mkdir(join(source, 'docs'), { recursive: true });
      await writeFile(join(source, 'install.sh'), markerScript);
      await writeFile(join(source, 'docs', 'README.txt'), 'a package imported from the web console\n');
      await page.getByTestId('nav-packages').click();
      await page.getByRole('button', { name: 'Import package' }).click();
      await page.locator('input[name=name]').fill('console-tool');
      await page.locator('input[name=version]').fill('2.0');
      await page.locator('input[name=sourcePath]').fill(source);
      await page.locator('input[name=commandLine]').fill('sh install.sh');
      await page.locator('input[name=timeLimit]').fill('60');
      await page.locator('form[aria-label="import package"] button[type=submit]').click();
      await waitForText(page, 'import-result', /Imported console-tool 2\.0: 2 files/);
      await waitForText(page, 'packages-table', 'console-tool');
      await browser.screenshot('packages');
      await page.getByRole('link', { name: 'console-tool' }).click();
      await page.getByTestId('manifest-files').waitFor();
      expect(await page.getByTestId('manifest-hash').textContent()).toMatch(/^[0-9a-f]{64}$/);
      expect(await rowsOf(page, 'manifest-files')).toBe(2);
      await browser.screenshot('package');

      // The deployment, created in the console, watched until both agents have finished.
      await page.getByTestId('nav-deployments').click();
      await page.getByTestId('new-deployment').click();
      await page.locator('select[name=package]').selectOption({ label: 'console-tool 2.0' });
      await page.locator('select[name=collection]').selectOption({ label: 'web agents (2 members)' });
      await page.getByRole('button', { name: 'Create deployment' }).click();
      await page.getByTestId('deployment-percent').waitFor();
      const percents = new Set<string>();
      const deadline = Date.now() + 90_000;
      for (;;) {
        const percent = (await page.getByTestId('deployment-percent').getAttribute('data-percent')) ?? '';
        percents.add(percent);
        if (percent === '100' || Date.now() > deadline) break;
        await page.waitForTimeout(200);
      }
      expect(await page.getByTestId('deployment-percent').textContent()).toBe('100%');
      expect(await page.getByTestId('count-succeeded').textContent()).toBe('2');
      expect(await page.getByTestId('count-failed').textContent()).toBe('0');
      expect(await page.getByTestId('chart-succeeded').getAttribute('data-count')).toBe('2');
      await expect.poll(() => rowsOf(page, 'deployment-clients'), { timeout: 15_000 }).toBe(2);
      await waitForText(page, 'deployment-clients', 'succeeded');
      await browser.screenshot('deployment');
      for (const hostname of agentNames) {
        expect((await stat(join(site.dir, hostname, 'console-marker'))).isFile()).toBe(true);
      }
    }, 180_000);

    it('shows a client’s inventory, status messages with filters, the hierarchy and the security page', async () => {
      await page.getByTestId('nav-clients').click();
      await page.getByTestId('client-search').fill('web-agent-1');
      await page.getByTestId('client-state').selectOption('');
      await waitForText(page, 'pager-status', 'Page 1 · clients 1–1');
      await page.getByRole('link', { name: 'web-agent-1', exact: true }).click();
      await page.getByTestId('client-status').waitFor();
      await expect.poll(() => rowsOf(page, 'inventory-facts'), { timeout: 20_000 }).toBeGreaterThan(0);
      await browser.screenshot('client');

      await page.getByTestId('nav-status-messages').click();
      await page.getByTestId('status-table').waitFor();
      expect(await rowsOf(page, 'status-table')).toBeGreaterThan(0);
      await page.getByTestId('severity-filter').selectOption('error');
      await page.getByText('No status message matches.').waitFor();
      expect(new URL(page.url()).searchParams.get('severity')).toBe('error');
      await page.getByTestId('severity-filter').selectOption('info');
      await page.getByTestId('status-table').waitFor();
      await browser.screenshot('status-messages');

      await page.getByTestId('nav-hierarchy').click();
      await waitForText(page, 'single-site', 'Single site');
      await waitForText(page, 'site-systems', 'management-point');
      await browser.screenshot('hierarchy');

      await page.getByTestId('nav-security').click();
      await waitForText(page, 'root-keys', site.init.rootFingerprint);
      await waitForText(page, 'certificates', 'mp-certificate');
      // The security audit's results (docs/audit.md): every check with its result, evidence and fix.
      await waitForText(page, 'audit-summary', /\d+ passed, \d+ warned, \d+ failed/);
      expect(await rowsOf(page, 'audit-results')).toBe(18);
      expect(await page.getByTestId('audit-root-key-offline').getAttribute('data-result')).toBe('fail');
      await waitForText(page, 'audit-root-key-offline', 'keys/root-1.key');
      expect(await page.getByTestId('audit-advanced-security').getAttribute('data-result')).toBe('pass');
      await page.getByTestId('audit-run').click();
      await waitForText(page, 'audit-run', 'Run again');
      await browser.screenshot('security');

      // A reload keeps the sign-in (same tab), and a deep link opens its page.
      await page.goto(`${site.url}/console/hierarchy`);
      await waitForText(page, 'single-site', 'Single site');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.locator('input[name=password]').waitFor();
      expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);

      // The strict Content-Security-Policy held: no violation, no uncaught error on any page (the
      // refused password, the invalid rule's preview and the signed-out token answer 401 or 400).
      const problems = browser.problems.filter(
        (p) => !/Failed to load resource: the server responded with a status of 40[014]/.test(p),
      );
      expect(problems).toEqual([]);
      expect(artifactsDir).toContain('test-artifacts');
    });
  },
);
