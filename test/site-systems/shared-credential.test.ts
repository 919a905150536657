/**
 * Standard security mode's shared site-system credential (issue 8, item 3; docs/audit.md,
 * "Security modes"; docs/scale-out.md), in process: on a standard site `POST
 * /site-systems/tokens` issues the one shared credential (once; only its hash kept) and any number
 * of MPs and DPs install with it, each with its own key; the audit names them; switching to
 * advanced revokes the credential (ERR_SITE_SYSTEM_CREDENTIAL_REVOKED) and the audit warns until
 * each is reinstalled with a one-time token of its own, which installs one system only.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditContextFor, securityChecks, type AuditFinding } from '../../src/audit/index.js';
import { siteSystemPaths, type SiteSystemRole } from '../../src/protocol/index.js';
import { siteDataLayout } from '../../src/site/data-folder/layout.js';
import { readSiteConfig, writeSiteConfig } from '../../src/site/data-folder/site-config.js';
import { initCentralSite } from '../../src/site/init/site-init.js';
import { switchSecurityMode } from '../../src/site/security-mode/index.js';
import { startSiteServer, type RunningSite } from '../../src/site/server/site-server.js';
import { decodeSiteSystemToken } from '../../src/site/site-systems/system-tokens.js';
import { siteSystemProof, siteSystemProofKey, SigningKey } from '../../src/trust/index.js';
import { testKeyFileCost } from '../support/site-fixture.js';

let dir: string;
let dataDir: string;
let adminToken: string;
let site: RunningSite | undefined;

async function start(): Promise<RunningSite> {
  site = await startSiteServer({ dataDir, settings: { logLevel: 'fatal' } });
  return site;
}

async function stop(): Promise<void> {
  await site?.stop();
  site = undefined;
}

function running(): RunningSite {
  if (site === undefined) throw new Error('the site is not running');
  return site;
}

async function issue(body: Record<string, unknown>) {
  return running().app.inject({
    method: 'POST',
    url: '/api/v1/site-systems/tokens',
    headers: { authorization: `Bearer ${adminToken}` },
    payload: body,
  });
}

/** Installs a site system the way `steward mp|dp install` does: its own key, the token's proof. */
async function install(token: string, role: SiteSystemRole, name: string) {
  const decoded = decodeSiteSystemToken(token);
  const systemKey = SigningKey.generate();
  const urls = [`http://127.0.0.1:${role === 'management-point' ? 18080 : 18081}`];
  const fields = {
    tokenId: decoded.tokenId,
    siteCode: decoded.siteCode,
    role,
    name,
    urls,
    systemKeyId: systemKey.keyId,
    tlsPublicKeySha256: null,
  };
  return running().app.inject({
    method: 'POST',
    url: siteSystemPaths.install,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({
      tokenId: decoded.tokenId,
      role,
      name,
      urls,
      systemKey: systemKey.publicRecord(),
      tlsPublicKey: null,
      proof: siteSystemProof(siteSystemProofKey(decoded.secret), fields),
    }),
  });
}

async function securityModeFinding(): Promise<AuditFinding> {
  const check = securityChecks.find((c) => c.id === 'advanced-security');
  if (check === undefined) throw new Error('no advanced-security check');
  const current = running();
  const context = await auditContextFor(
    { config: current.config, dataDir, url: current.url, transport: { scheme: 'http', insecure: false } },
    current.database.db,
    new Date(),
  );
  return check.run(context);
}

function codeOf(response: { body: string }): string | undefined {
  const body = JSON.parse(response.body) as { code?: string; error?: { code?: string } };
  return body.code ?? body.error?.code;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steward-shared-'));
  dataDir = join(dir, 'data');
  const init = await initCentralSite({
    dataDir,
    code: 'STD',
    name: 'Standard site',
    listen: '127.0.0.1:0',
    publicUrl: null,
    database: null,
    passphrase: null,
    approval: 'token',
    now: new Date(),
    keyFileCost: testKeyFileCost,
  });
  const layout = siteDataLayout(dataDir);
  await writeSiteConfig(layout.config, {
    ...(await readSiteConfig(layout.config)),
    securityMode: 'standard',
  });
  adminToken = (JSON.parse(await readFile(init.credentialsPath, 'utf8')) as { token: string }).token;
  await start();
});

afterAll(async () => {
  await stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the shared site-system credential of standard security mode', { timeout: 120_000 }, () => {
  let shared: string;

  it('is issued once on a standard site, and any number of MPs and DPs install with it', async () => {
    const issued = await issue({ role: 'management-point' });
    expect(issued.statusCode, issued.body).toBe(201);
    const body = issued.json<{ token: string; role: string; shared: boolean; expiresAt: string }>();
    expect(body.shared).toBe(true);
    expect(body.role).toBe('any');
    expect(new Date(body.expiresAt).getTime()).toBeGreaterThan(Date.now() + 365 * 24 * 3600 * 1000);
    shared = body.token;

    // Only its hash is kept: it cannot be shown again, only replaced.
    const again = await issue({ role: 'distribution-point' });
    expect(again.statusCode).toBe(409);
    expect(codeOf(again)).toBe('ERR_CONFLICT');

    const mp = await install(shared, 'management-point', 'STD-MP2');
    expect(mp.statusCode, mp.body).toBe(201);
    expect(mp.json<{ mpCertificate: string | null }>().mpCertificate).not.toBeNull();
    const dp = await install(shared, 'distribution-point', 'STD-DP2');
    expect(dp.statusCode, dp.body).toBe(201);
    const dp3 = await install(shared, 'distribution-point', 'STD-DP3');
    expect(dp3.statusCode, dp3.body).toBe(201);

    const rows = await running()
      .database.db.selectFrom('site_systems')
      .select(['name', 'installed_with', 'key_id'])
      .where('installed_with', '=', 'shared-credential')
      .orderBy('name')
      .execute();
    expect(rows.map((row) => row.name)).toEqual(['STD-DP2', 'STD-DP3', 'STD-MP2']);
    // Each has its own key: what is shared is the admission credential, not the identity.
    expect(new Set(rows.map((row) => row.key_id)).size).toBe(3);
  });

  it('fails the audit on the standard site, naming the systems and never the credential', async () => {
    const finding = await securityModeFinding();
    expect(finding.result).toBe('fail');
    expect(finding.evidence).toContain(
      'Installed with the shared site-system credential: STD-DP2 (distribution-point), STD-DP3 (distribution-point), STD-MP2 (management-point).',
    );
    const secret = decodeSiteSystemToken(shared).secret;
    expect(JSON.stringify(finding)).not.toContain(secret);
    const listing = await running().app.inject({
      method: 'GET',
      url: '/api/v1/site-systems/tokens',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(listing.statusCode).toBe(200);
    expect(listing.body).not.toContain(secret);
    expect(listing.body).not.toContain(siteSystemProofKey(secret));
  });

  it('is revoked by the switch to advanced: the audit warns until each system is reinstalled with its own token', async () => {
    await stop();
    const switched = await switchSecurityMode(dataDir, 'advanced', { actor: 'test', now: new Date() });
    expect(switched).toMatchObject({
      from: 'standard',
      to: 'advanced',
      changed: true,
      revokedSharedCredentials: 1,
    });
    await start();

    const refused = await install(shared, 'distribution-point', 'STD-DP4');
    expect(refused.statusCode).toBe(401);
    expect(codeOf(refused)).toBe('ERR_SITE_SYSTEM_CREDENTIAL_REVOKED');

    const warned = await securityModeFinding();
    expect(warned.result).toBe('warn');
    expect(warned.evidence).toContain('The site runs in advanced security mode.');
    expect(warned.evidence).toContain('STD-MP2 (management-point)');
    expect(warned.fix).toContain('steward site system-token --role mp|dp');

    // Advanced: a one-time token per system, refused the second time.
    const issued = await issue({ role: 'management-point' });
    expect(issued.statusCode, issued.body).toBe(201);
    const own = issued.json<{ token: string; shared: boolean; role: string }>();
    expect(own).toMatchObject({ shared: false, role: 'management-point' });
    const reinstalled = await install(own.token, 'management-point', 'STD-MP2');
    expect(reinstalled.statusCode, reinstalled.body).toBe(201);
    const reused = await install(own.token, 'management-point', 'STD-MP3');
    expect(reused.statusCode).toBe(401);
    expect(codeOf(reused)).toBe('ERR_SITE_SYSTEM_TOKEN_USED');

    const still = await securityModeFinding();
    expect(still.result).toBe('warn');
    expect(still.evidence).not.toContain('STD-MP2');
    expect(still.evidence).toContain('STD-DP2 (distribution-point), STD-DP3 (distribution-point).');

    for (const name of ['STD-DP2', 'STD-DP3']) {
      const token = (await issue({ role: 'distribution-point' })).json<{ token: string }>().token;
      const again = await install(token, 'distribution-point', name);
      expect(again.statusCode, again.body).toBe(201);
    }
    expect((await securityModeFinding()).result).toBe('pass');
  });
});
