/**
 * A central site for the audit tests, run in process: created by `initCentralSite`, its site.json
 * changed the way an administrator would change it (to misconfigure it on purpose), started by
 * `startSiteServer`; its database is reached through the running site to misconfigure what lives
 * there. The audit is read through the admin API (`GET /api/v1/audit/security`), as the CLI and
 * the console read it; one check can also be run alone with a changed context.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import {
  auditContextFor,
  securityChecks,
  type AuditContext,
  type AuditFinding,
  type SecurityAuditReport,
} from '../../src/audit/index.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { readSiteConfig, writeSiteConfig, type SiteConfig } from '../../src/site/data-folder/site-config.js';
import { initCentralSite, type SiteInitResult } from '../../src/site/init/site-init.js';
import { startSiteServer, type RunningSite } from '../../src/site/server/site-server.js';
import type { SiteDb } from '../../src/site/database/site-db.js';
import { testKeyFileCost } from '../support/site-fixture.js';

export interface AuditSite {
  readonly dir: string;
  readonly dataDir: string;
  readonly init: SiteInitResult;
  readonly site: RunningSite;
  readonly db: SiteDb;
  readonly token: string;
  readonly password: string;
  /** The whole audit through the admin API, as `token` (default: the first administrator's). */
  audit(token?: string): Promise<SecurityAuditReport>;
  request(token: string | null): Promise<LightMyRequestResponse>;
  /** One check, run alone with the site's context changed by `change`. */
  check(id: string, change?: (context: AuditContext) => AuditContext): Promise<AuditFinding>;
  stop(): Promise<void>;
}

export async function startAuditSite(
  options: {
    code?: string;
    /** Changes site.json before the site starts (the deliberate misconfiguration). */
    configure?: (config: SiteConfig) => SiteConfig;
    tls?: 'auto' | 'always';
  } = {},
): Promise<AuditSite> {
  const dir = await mkdtemp(join(tmpdir(), 'steward-audit-'));
  const dataDir = join(dir, 'data');
  const init = await initCentralSite({
    dataDir,
    code: options.code ?? 'AUD',
    name: 'Audited site',
    listen: '127.0.0.1:0',
    publicUrl: null,
    database: null,
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  const layout = siteDataLayout(dataDir);
  if (options.configure !== undefined) {
    await writeSiteConfig(layout.config, options.configure(await readSiteConfig(layout.config)));
  }
  const credentials = JSON.parse(await readFile(init.credentialsPath, 'utf8')) as {
    token: string;
    password: string;
  };
  const site = await startSiteServer({
    dataDir,
    settings: { logLevel: 'fatal', ...(options.tls === undefined ? {} : { tls: options.tls }) },
  });
  const request = (token: string | null) =>
    site.app.inject({
      method: 'GET',
      url: '/api/v1/audit/security',
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
  return {
    dir,
    dataDir,
    init,
    site,
    db: site.database.db,
    token: credentials.token,
    password: credentials.password,
    request,
    audit: async (token = credentials.token) => {
      const response = await request(token);
      expect(response.statusCode, response.body).toBe(200);
      return response.json<SecurityAuditReport>();
    },
    check: async (id, change = (context) => context) => {
      const check = securityChecks.find((c) => c.id === id);
      if (check === undefined) throw new Error(`no check ${id}`);
      const context = await auditContextFor(
        {
          config: site.config,
          dataDir,
          url: site.url,
          transport: { scheme: site.url.startsWith('https:') ? 'https' : 'http', insecure: false },
        },
        site.database.db,
        new Date(),
      );
      return check.run(change(context));
    },
    stop: async () => {
      await site.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The result of each check by id. */
export function resultsOf(report: SecurityAuditReport): Record<string, string> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.result]));
}

export function checkOf(report: SecurityAuditReport, id: string) {
  const found = report.checks.find((check) => check.id === id);
  if (found === undefined) throw new Error(`the report has no check ${id}`);
  return found;
}
