/**
 * The security audit of a hierarchy (docs/audit.md, "At a central site: the hierarchy"), end to end:
 * a central site and a primary site joined with a join token, each its own `steward site start`
 * process on loopback. The primary is misconfigured on purpose in its site.json (standard security
 * mode, automatic key exchange, legacy site interop) and has an agent enrolled in trust-on-first-use
 * mode; `steward audit` at the central site finds all of it in what the primary reported up (its
 * site control and its client records) and names the primary.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecurityAuditReport } from '../../src/audit/index.js';
import { agentFolder } from '../support/agent-runs.js';
import {
  runSteward,
  runStewardJson,
  stopAllStewardProcesses,
  waitUntil,
} from '../support/steward-process.js';
import {
  createCentralSite,
  joinChildSite,
  type HierarchySite,
} from '../hierarchy/support/hierarchy-sites.js';
import { checkOf, resultsOf } from './audit-site.js';

let central: HierarchySite;
let primary: HierarchySite;
const folders: string[] = [];

beforeAll(async () => {
  central = await createCentralSite('HAC');
  folders.push(central.dir);
  await central.start();
  primary = await joinChildSite(central, 'HAP', 'primary');
  folders.push(primary.dir);
  // The administrator of the primary weakens it by hand (a joined site is made advanced).
  const siteJson = join(primary.dataDir, 'site.json');
  const config = JSON.parse(await readFile(siteJson, 'utf8')) as Record<string, unknown>;
  await writeFile(
    siteJson,
    JSON.stringify({
      ...config,
      securityMode: 'standard',
      hierarchy: { automaticKeyExchange: true, legacyInterop: true, legacySites: ['OLD'] },
    }),
  );
  await primary.start();
}, 300_000);

afterAll(async () => {
  await stopAllStewardProcesses();
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
});

/** `steward audit --json --site URL` at the central site, as its first administrator. */
async function auditCentral(): Promise<{ code: number | null; report: SecurityAuditReport; stderr: string }> {
  const result = await runSteward(['audit', '--site', central.url, '--json'], {
    env: { STEWARD_TOKEN: central.adminToken },
  });
  return {
    code: result.code,
    report: JSON.parse(result.stdout) as SecurityAuditReport,
    stderr: result.stderr,
  };
}

describe('the security audit at the central site of a hierarchy', { timeout: 180_000 }, () => {
  it('fails the settings a primary site reported in its site control, naming the primary', async () => {
    const { code, report, stderr } = await waitUntil(async () => {
      const run = await auditCentral();
      // The site control arrives within a few sender cycles after the primary starts.
      return checkOf(run.report, 'advanced-security').evidence.includes('HAP') ? run : undefined;
    }, 'the primary site control at the central site');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error ERR_AUDIT_FAILED: \d+ of 18 checks failed: .*advanced-security/);
    expect(report.site).toMatchObject({ code: 'HAC', type: 'central' });
    expect(resultsOf(report)).toMatchObject({
      'advanced-security': 'fail',
      'single-site': 'warn',
      'one-mp-per-primary': 'pass',
      'secure-key-exchange': 'fail',
      'legacy-site-data-refused': 'fail',
    });
    expect(checkOf(report, 'advanced-security').evidence).toContain(
      'The site runs in advanced security mode. Standard security mode reported by HAP.',
    );
    expect(checkOf(report, 'secure-key-exchange').evidence).toContain(
      'Automatic key exchange (joins without a token) is on at HAP.',
    );
    expect(checkOf(report, 'legacy-site-data-refused').evidence).toContain('is on at HAP');
    expect(checkOf(report, 'one-mp-per-primary').evidence).toContain('HAP: 1 management point (HAP-MP1)');
    expect(checkOf(report, 'single-site').evidence).toContain('HAP (primary: 0 clients)');
  });

  it("counts the primary's agents: one trusting its root on first use fails both client checks", async () => {
    const agentDir = await agentFolder();
    folders.push(dirname(agentDir));
    const enrolled = await runStewardJson<{ clientId: string; siteCode: string; state: string }>([
      'agent',
      'enroll',
      '--data',
      agentDir,
      '--mp',
      primary.url,
      '--mode',
      'trust-on-first-use',
      '--token',
      primary.enrolmentToken ?? '',
    ]);
    expect(enrolled).toMatchObject({ siteCode: 'HAP', state: 'approved' });
    const { report } = await waitUntil(async () => {
      const run = await auditCentral();
      return checkOf(run.report, 'client-secure-mode').result === 'fail' ? run : undefined;
    }, 'the agent of the primary site reported to the central site');
    const agent = checkOf(report, 'client-secure-mode');
    expect(agent.evidence).toContain('Modes of 1 agent not revoked: trust-on-first-use: 1.');
    expect(checkOf(report, 'client-roots-pinned')).toMatchObject({ result: 'fail' });
    expect(checkOf(report, 'client-roots-pinned').evidence).toContain('first-use: 1');
    expect(checkOf(report, 'single-site').evidence).toContain('HAP (primary: 1 client)');
  });
});
