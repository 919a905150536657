/**
 * The security audit (issue 8, item 2; docs/audit.md) on sites run in process: every check shown
 * passing on a hardened site and failing (or warning, for the checks that only warn) on a site
 * misconfigured on purpose, through `GET /api/v1/audit/security`. The directory checks run against
 * a real slapd in directory-audit.test.ts; the exit status and --json of `steward audit` are in
 * test/cli/audit-cli.test.ts.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securityChecks } from '../../src/audit/index.js';
import {
  createAccount,
  disableAccount,
  findAccountByName,
  grantRights,
  issueApiToken,
} from '../../src/admin/identity/index.js';
import { writeLegacySettings } from '../../src/roles/legacy-point/index.js';
import { registerClient } from '../../src/site/clients/client-store.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import type { SiteDb } from '../../src/site/database/site-db.js';
import { sha256Hex } from '../../src/trust/index.js';
import { checkOf, resultsOf, startAuditSite, type AuditSite } from './audit-site.js';

const day = 24 * 3600 * 1000;

async function addAgent(
  db: SiteDb,
  siteCode: string,
  hostname: string,
  trust: {
    mode: 'secure' | 'directory-only' | 'trust-on-first-use';
    rootSource: 'pinned' | 'directory' | 'first-use';
  },
): Promise<void> {
  await registerClient(db, {
    id: sha256Hex(hostname),
    publicKey: `key-of-${hostname}`,
    siteCode,
    hostname,
    mode: trust.mode,
    rootSource: trust.rootSource,
    registeredAt: new Date(),
    state: 'approved',
    approvedBy: 'test',
  });
}

/** A secondary site below this one, with its proxy management point, as its site control reports it. */
async function addSecondarySite(db: SiteDb, parentCode: string, code: string): Promise<void> {
  await db
    .insertInto('sites')
    .values({
      code,
      name: `Branch ${code}`,
      site_type: 'secondary',
      parent_code: parentCode,
      site_key_id: sha256Hex(code),
      certificate: null,
      is_local: false,
      updated_at: new Date(),
    })
    .execute();
  await db
    .insertInto('site_systems')
    .values({
      id: `${code}-management-point-${code}-PMP1`,
      site_code: code,
      role: 'management-point',
      name: `${code}-PMP1`,
      urls: JSON.stringify([`http://192.0.2.10:8430`]),
      key_id: null,
      certificate: null,
      embedded: false,
      health: 'unknown',
      last_seen_at: new Date(),
    })
    .execute();
}

/** The site control a site below reports (docs/hierarchy.md), with the security mode it runs, if any. */
async function receiveSiteControl(
  db: SiteDb,
  site: { code: string; parentCode: string; type: 'primary' | 'secondary' },
  securityMode: 'advanced' | 'standard' | undefined,
): Promise<void> {
  const body = {
    siteCode: site.code,
    parentCode: site.parentCode,
    siteType: site.type,
    name: `Site ${site.code}`,
    version: 1,
    url: `https://${site.code.toLowerCase()}.example.org:8430`,
    siteSystems: [],
    boundarySites: [],
    boundaries: [],
    settings: {
      legacyInterop: false,
      automaticKeyExchange: false,
      ...(securityMode === undefined ? {} : { securityMode }),
      statusForwarding: 'all',
    },
  };
  await db
    .insertInto('site_controls')
    .values({
      site_code: site.code,
      parent_code: site.parentCode,
      site_type: site.type,
      version: 1,
      body: JSON.stringify(body),
      received_at: new Date(),
    })
    .onConflict((oc) => oc.column('site_code').doUpdateSet({ body: JSON.stringify(body) }))
    .execute();
}

/** An account that may only read the site, holding a token valid for one day (no password). */
async function auditorToken(db: SiteDb): Promise<string> {
  const auditor = await createAccount(db, { name: 'auditor' });
  await grantRights(db, auditor.id, 'site', '*', ['read']);
  return (await issueApiToken(db, auditor.id, { name: 'audit', expiresAt: new Date(Date.now() + day) }))
    .token;
}

describe('the security audit', () => {
  it('declares every check once, with a practice, in the order of docs/audit.md', async () => {
    const ids = securityChecks.map((check) => check.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([
      'advanced-security',
      'single-site',
      'advanced-clients-only',
      'client-roots-pinned',
      'client-secure-mode',
      'one-mp-per-primary',
      'proxy-mp-channel',
      'mp-database-channel',
      'mp-own-host',
      'secure-key-exchange',
      'legacy-site-data-refused',
      'directory-schema-acls',
      'admin-directory-sign-in',
      'no-standing-admins',
      'key-certificate-ages',
      'root-key-offline',
      'no-plain-http',
      'client-approval',
    ]);
    const doc = await readFile(join(import.meta.dirname, '../../docs/audit.md'), 'utf8');
    for (const check of securityChecks) {
      expect(check.practice.length).toBeGreaterThan(20);
      expect(doc, `docs/audit.md maps ${check.id}`).toContain(`\`${check.id}\``);
    }
  });

  describe('on a site as `site init` makes it', () => {
    let site: AuditSite;
    beforeAll(async () => {
      site = await startAuditSite({ code: 'DEF' });
    });
    afterAll(async () => {
      await site.stop();
    });

    it('passes what the defaults secure, and fails the online root key beside its secret', async () => {
      const report = await site.audit();
      expect(report.site).toMatchObject({ code: 'DEF', type: 'central', url: site.site.url });
      expect(report.checks.map((c) => c.id)).toEqual(securityChecks.map((c) => c.id));
      expect(resultsOf(report)).toEqual({
        'advanced-security': 'pass',
        'single-site': 'pass',
        'advanced-clients-only': 'pass',
        'client-roots-pinned': 'pass',
        'client-secure-mode': 'pass',
        'one-mp-per-primary': 'pass',
        'proxy-mp-channel': 'pass',
        'mp-database-channel': 'pass',
        'mp-own-host': 'warn',
        'secure-key-exchange': 'pass',
        'legacy-site-data-refused': 'pass',
        'directory-schema-acls': 'warn',
        'admin-directory-sign-in': 'warn',
        'no-standing-admins': 'warn',
        'key-certificate-ages': 'pass',
        'root-key-offline': 'fail',
        'no-plain-http': 'pass',
        'client-approval': 'pass',
      });
      expect(report.summary).toEqual({ pass: 13, warn: 4, fail: 1 });
      expect(report.passed).toBe(false);
      // Each finding says why; what is not a pass says what to change.
      for (const check of report.checks) {
        expect(check.evidence.length, check.id).toBeGreaterThan(10);
        expect(check.fix === '', check.id).toBe(check.result === 'pass');
      }
      expect(checkOf(report, 'root-key-offline').evidence).toContain('keys/root-1.key');
      expect(checkOf(report, 'directory-schema-acls').evidence).toContain('No directory is used');
      expect(checkOf(report, 'no-standing-admins').evidence).toMatch(
        /admin: a local password, token "site init"/,
      );
      expect(checkOf(report, 'key-certificate-ages').evidence).toMatch(/mp-certificate DEF-MP1: expires/);
    });

    it('never shows a secret: no password, API token, key secret or enrolment token', async () => {
      const text = JSON.stringify(await site.audit());
      const secret = await readFile(siteDataLayout(site.dataDir).keySecret);
      expect(text).not.toContain(site.password);
      expect(text).not.toContain(site.token);
      expect(text).not.toContain(site.init.enrolmentToken);
      expect(text).not.toContain(secret.toString('base64'));
      expect(text).not.toContain(secret.toString('hex'));
      expect(text).not.toContain(secret.toString('utf8').trim());
    });

    it('needs read on sites: refused without credentials and without the right', async () => {
      expect((await site.request(null)).statusCode).toBe(401);
      const clerk = await createAccount(site.db, { name: 'clerk' });
      await grantRights(site.db, clerk.id, 'package', '*', ['read']);
      const token = (await issueApiToken(site.db, clerk.id, { name: 'clerk' })).token;
      const refused = await site.request(token);
      expect(refused.statusCode).toBe(403);
      expect(refused.json<{ error: { code: string } }>().error.code).toBe('ERR_FORBIDDEN');
    });

    it('is described in the OpenAPI document', async () => {
      const response = await site.site.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      expect(Object.keys(response.json<{ paths: Record<string, unknown> }>().paths)).toContain(
        '/api/v1/audit/security',
      );
    });
  });

  describe('on a hardened site', () => {
    let site: AuditSite;
    let token: string;
    beforeAll(async () => {
      site = await startAuditSite({ code: 'HRD', tls: 'always' });
      // The root key goes offline; the management point runs on its own host (as `steward mp start`
      // registers it); agents pin the root; the first administrator is disabled and an auditor
      // with a read right and a one-day token reads the audit.
      await rename(siteDataLayout(site.dataDir).rootKey(1), join(site.dir, 'offline-root-1.key'));
      await site.db
        .updateTable('site_systems')
        .set({ embedded: false })
        .where('role', '=', 'management-point')
        .execute();
      await addAgent(site.db, 'HRD', 'pinned-1', { mode: 'secure', rootSource: 'pinned' });
      await addAgent(site.db, 'HRD', 'directory-1', { mode: 'directory-only', rootSource: 'directory' });
      token = await auditorToken(site.db);
      await disableAccount(site.db, (await findAccountByName(site.db, 'admin'))!.id);
    });
    afterAll(async () => {
      await site.stop();
    });

    it('passes every check but the two that need a directory', async () => {
      const report = await site.audit(token);
      const results = resultsOf(report);
      expect(Object.entries(results).filter(([, result]) => result !== 'pass')).toEqual([
        ['directory-schema-acls', 'warn'],
        ['admin-directory-sign-in', 'warn'],
      ]);
      expect(report.passed).toBe(true);
      expect(checkOf(report, 'root-key-offline').evidence).toContain('kept offline');
      expect(checkOf(report, 'mp-own-host').evidence).toContain('HRD-MP1 (own host)');
      expect(checkOf(report, 'client-roots-pinned').evidence).toContain('pinned: 1');
      expect(checkOf(report, 'no-plain-http').evidence).toContain('serves HTTPS');
      expect(checkOf(report, 'no-standing-admins').evidence).toContain('0 enabled full administrators');
    });

    it('passes the proxy MP channel of a secondary site over HTTPS, and warns about the extra site', async () => {
      await addSecondarySite(site.db, 'HRD', 'BRH');
      const report = await site.audit(token);
      expect(checkOf(report, 'proxy-mp-channel')).toMatchObject({ result: 'pass' });
      expect(checkOf(report, 'proxy-mp-channel').evidence).toContain('BRH → HRD over https');
      expect(checkOf(report, 'single-site')).toMatchObject({ result: 'warn' });
      expect(checkOf(report, 'single-site').evidence).toContain("BRH (secondary: its parent's clients)");
      // BRH has sent no site control yet: its settings are not known here.
      expect(checkOf(report, 'secure-key-exchange')).toMatchObject({ result: 'warn' });
      expect(checkOf(report, 'secure-key-exchange').evidence).toContain('Not known for BRH');
      expect(checkOf(report, 'legacy-site-data-refused')).toMatchObject({ result: 'warn' });
      expect(report.passed).toBe(true);
    });

    it('warns that unsigned site batches were accepted in the past', async () => {
      await receiveSiteControl(site.db, { code: 'BRH', parentCode: 'HRD', type: 'secondary' }, 'advanced');
      expect((await site.check('legacy-site-data-refused')).result).toBe('pass');
      await site.db
        .insertInto('site_message_log')
        .values({
          link_code: 'BRH',
          sequence: 1,
          hash: sha256Hex('batch 1'),
          record_count: 1,
          unsigned: true,
          received_at: new Date(),
        })
        .execute();
      const finding = await site.check('legacy-site-data-refused');
      expect(finding.result).toBe('warn');
      expect(finding.evidence).toContain('This site has received 1 unsigned batch.');
      expect(finding.fix).toContain('review what they changed');
    });

    it('fails a site below that reports standard security mode, and warns while a site has not said', async () => {
      await site.db
        .insertInto('sites')
        .values({
          code: 'PRM',
          name: 'Primary PRM',
          site_type: 'primary',
          parent_code: 'HRD',
          site_key_id: sha256Hex('PRM'),
          certificate: null,
          is_local: false,
          updated_at: new Date(),
        })
        .execute();
      await receiveSiteControl(site.db, { code: 'PRM', parentCode: 'HRD', type: 'primary' }, 'standard');
      const standard = await site.check('advanced-security');
      expect(standard.result).toBe('fail');
      expect(standard.evidence).toContain('The site runs in advanced security mode.');
      expect(standard.evidence).toContain('Standard security mode reported by PRM.');
      expect(standard.fix).toContain('steward site security-mode --data DIR advanced');
      // A site control without the mode (from a site that predates it).
      await receiveSiteControl(site.db, { code: 'PRM', parentCode: 'HRD', type: 'primary' }, undefined);
      const unknown = await site.check('advanced-security');
      expect(unknown.result).toBe('warn');
      expect(unknown.evidence).toContain('Not known for PRM');
      await receiveSiteControl(site.db, { code: 'PRM', parentCode: 'HRD', type: 'primary' }, 'advanced');
      const advanced = await site.check('advanced-security');
      expect(advanced.result).toBe('pass');
      expect(advanced.evidence).toContain('Advanced security mode reported by BRH, PRM.');
    });
  });

  describe('on a site misconfigured on purpose', () => {
    let site: AuditSite;
    beforeAll(async () => {
      site = await startAuditSite({
        code: 'BAD',
        configure: (config) => ({
          ...config,
          securityMode: 'standard',
          approval: 'automatic',
          hierarchy: { automaticKeyExchange: true, legacyInterop: true, legacySites: ['OLD'] },
        }),
      });
      const db = site.db;
      await addAgent(db, 'BAD', 'pinned-1', { mode: 'secure', rootSource: 'pinned' });
      await addAgent(db, 'BAD', 'tofu-1', { mode: 'trust-on-first-use', rootSource: 'first-use' });
      await writeLegacySettings(db, { enabled: true, allowUnverified: true }, new Date());
      await db
        .updateTable('certificates')
        .set({ expires_at: new Date(Date.now() - day) })
        .where('kind', '=', 'mp-certificate')
        .execute();
      await createAccount(db, { name: 'operator', password: 'operator-password-1234', administrator: true });
      await addSecondarySite(db, 'BAD', 'BRB');
    });
    afterAll(async () => {
      await site.stop();
    });

    it('fails each misconfiguration, saying what it found and what to change', async () => {
      const report = await site.audit();
      expect(resultsOf(report)).toEqual({
        'advanced-security': 'fail',
        'single-site': 'warn',
        'advanced-clients-only': 'fail',
        'client-roots-pinned': 'fail',
        'client-secure-mode': 'fail',
        'one-mp-per-primary': 'pass',
        'proxy-mp-channel': 'fail',
        'mp-database-channel': 'pass',
        'mp-own-host': 'warn',
        'secure-key-exchange': 'fail',
        'legacy-site-data-refused': 'fail',
        'directory-schema-acls': 'warn',
        'admin-directory-sign-in': 'warn',
        'no-standing-admins': 'fail',
        'key-certificate-ages': 'fail',
        'root-key-offline': 'fail',
        'no-plain-http': 'pass',
        'client-approval': 'fail',
      });
      expect(report.passed).toBe(false);
      const evidence = (id: string) => checkOf(report, id).evidence;
      expect(evidence('advanced-security')).toContain('standard security mode');
      expect(checkOf(report, 'advanced-security').fix).toContain(
        'steward site security-mode --data DIR advanced',
      );
      expect(evidence('advanced-clients-only')).toContain('legacy clients are enabled');
      expect(evidence('client-roots-pinned')).toContain('Trusted on first use: tofu-1');
      expect(evidence('client-secure-mode')).toContain('In trust-on-first-use mode: tofu-1');
      expect(evidence('proxy-mp-channel')).toContain('BRB → BAD over http');
      expect(evidence('secure-key-exchange')).toContain(
        'Automatic key exchange (joins without a token) is on at BAD',
      );
      expect(evidence('legacy-site-data-refused')).toContain('accepts unsigned data from OLD');
      expect(evidence('no-standing-admins')).toMatch(/admin: .*; operator: a local password/);
      expect(evidence('key-certificate-ages')).toContain('Expired: mp-certificate BAD-MP1');
      expect(evidence('client-approval')).toContain('automatic');
      expect(JSON.stringify(report)).not.toContain('operator-password-1234');
    });

    it('warns about legacy clients that check signatures, and about directory approval', async () => {
      await writeLegacySettings(site.db, { enabled: true, allowUnverified: false }, new Date());
      expect((await site.check('advanced-clients-only')).result).toBe('warn');
      await writeLegacySettings(site.db, { enabled: false, allowUnverified: false }, new Date());
      expect((await site.check('advanced-clients-only')).result).toBe('pass');
      const directory = await site.check('client-approval', (c) => ({
        ...c,
        config: { ...c.config, approval: 'directory' },
      }));
      expect(directory.result).toBe('warn');
    });

    it('warns about a second management point and fails a primary site without one', async () => {
      await site.db
        .insertInto('site_systems')
        .values({
          id: 'BAD-mp-2',
          site_code: 'BAD',
          role: 'management-point',
          name: 'BAD-MP2',
          urls: JSON.stringify(['https://mp2.example.org']),
          key_id: null,
          certificate: null,
          embedded: false,
          health: 'ok',
          last_seen_at: new Date(),
        })
        .execute();
      const two = await site.check('one-mp-per-primary');
      expect(two.result).toBe('warn');
      expect(two.evidence).toContain('BAD: 2 management points (BAD-MP1, BAD-MP2)');
      await site.db
        .deleteFrom('site_systems')
        .where('site_code', '=', 'BAD')
        .where('role', '=', 'management-point')
        .execute();
      const none = await site.check('one-mp-per-primary');
      expect(none.result).toBe('fail');
      expect(none.evidence).toContain('This site has no management point');
    });

    it('warns about a certificate that expires within 30 days', async () => {
      await site.db
        .updateTable('certificates')
        .set({ expires_at: new Date(Date.now() + 10 * day) })
        .where('kind', '=', 'mp-certificate')
        .execute();
      const finding = await site.check('key-certificate-ages');
      expect(finding.result).toBe('warn');
      expect(finding.evidence).toContain('Expiring within 30 days: mp-certificate BAD-MP1');
    });

    it('fails a standing full-administrator token older than 90 days', async () => {
      await site.db.deleteFrom('admin_accounts').where('name', '=', 'operator').execute();
      expect((await site.check('no-standing-admins')).result).toBe('warn');
      await site.db
        .updateTable('api_tokens')
        .set({ created_at: new Date(Date.now() - 100 * day) })
        .where('name', '=', 'site init')
        .execute();
      const finding = await site.check('no-standing-admins');
      expect(finding.result).toBe('fail');
      expect(finding.evidence).toContain('Tokens older than 90 days: admin');
    });

    it('fails plain HTTP on a network address (--insecure-http)', async () => {
      const finding = await site.check('no-plain-http', (c) => ({
        ...c,
        url: 'http://198.51.100.7:8430',
        transport: { scheme: 'http', insecure: true },
      }));
      expect(finding.result).toBe('fail');
      expect(finding.evidence).toContain('--insecure-http');
    });

    it('judges the database channel of management points without showing the database password', async () => {
      const withDatabase =
        (database: string, requireTls: boolean) =>
        (c: Parameters<NonNullable<Parameters<AuditSite['check']>[1]>>[0]) => ({
          ...c,
          config: { ...c.config, database, databaseRequireTls: requireTls },
        });
      const plain = await site.check(
        'mp-database-channel',
        withDatabase('postgres://steward:hunter2-secret@db.example.org/steward', false),
      );
      expect(plain.result).toBe('fail');
      expect(plain.evidence).toContain('db.example.org, sslmode=disable');
      expect(JSON.stringify(plain)).not.toContain('hunter2-secret');
      const local = await site.check(
        'mp-database-channel',
        withDatabase('postgres://steward@127.0.0.1/steward', false),
      );
      expect(local.result).toBe('warn');
      const verified = await site.check(
        'mp-database-channel',
        withDatabase(
          'postgres://steward@db.example.org/steward?sslmode=verify-full&sslrootcert=/etc/steward/db-ca.pem',
          true,
        ),
      );
      expect(verified.result).toBe('pass');
    });

    it('warns about a passphrase-protected root key online and fails one held by a primary site', async () => {
      const passphrase = await site.check('root-key-offline', (c) => ({
        ...c,
        config: { ...c.config, keyProtection: 'passphrase' },
      }));
      expect(passphrase.result).toBe('warn');
      const primary = await site.check('root-key-offline', (c) => ({
        ...c,
        config: { ...c.config, siteType: 'primary' },
      }));
      expect(primary.result).toBe('fail');
      expect(primary.evidence).toContain('primary site holds root key files');
    });

    it('reports a switch to advanced mode that waits for a restart', async () => {
      const finding = await site.check('advanced-security', (c) => ({
        ...c,
        configOnDisk: { ...c.config, securityMode: 'advanced' },
      }));
      expect(finding.result).toBe('fail');
      expect(finding.evidence).toContain(
        'site.json now says advanced: it applies when the site server restarts',
      );
    });
  });
});
