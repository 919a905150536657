/**
 * Issue 6, items 4 and 5, against the private slapd: a site that publishes itself automatically
 * (on start and when its boundaries change), agents enrolled from the directory by the real
 * `steward agent enroll --directory` (directory-only: MP location, root and MP key from the
 * directory), a deployment end to end, S4 entries planted by the wrong writer ignored and reported
 * to the site (status 11020), and directory approval by machine account (S1).
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostAddresses } from '../../src/agent/identity/host-facts.js';
import { lookupManagementPoints, lookupSiteForAddresses } from '../../src/directory/index.js';
import { statusByName } from '../../src/protocol/index.js';
import { enrollTestAgent, queuedStatus } from '../support/agent-files.js';
import { runAgentOnce } from '../support/agent-runs.js';
import { startSlapd, slapdSkipReason, type TestAccount, type TestSlapd } from '../support/slapd.js';
import {
  runStewardJson,
  startSteward,
  stopAllStewardProcesses,
  waitUntil,
} from '../support/steward-process.js';
import { ldapModify } from './support/ldap-tools.js';
import { deployMarker, startDirectorySite, type DirectorySite } from './support/directory-site.js';

const skip = slapdSkipReason();
if (skip !== undefined) console.warn(`slapd tests skipped: ${skip}`);

/** The address the agent is located by, and the boundary that holds it (undefined: --site-code). */
const address = hostAddresses().find((a) => !a.includes(':')) ?? hostAddresses()[0];
const boundary =
  address === undefined ? undefined : address.includes(':') ? `${address}/128` : `${address}/32`;

interface EnrolOutput {
  clientId: string;
  state: string;
  siteCode: string;
  mode: string;
  rootSource: string;
  rootFingerprint: string;
  managementPoint: string;
  boundary: string | null;
  rejected: { dn: string; writer: string; reason: string }[];
}

describe.skipIf(skip !== undefined)(
  'agents and sites with the directory (slapd)',
  { timeout: 120_000 },
  () => {
    const cleanups: (() => Promise<void>)[] = [];
    let slapd: TestSlapd;
    let site: DirectorySite;
    let def: TestAccount;
    const container = () => `cn=System Management,cn=System,${slapd.baseDn}`;

    async function directoryEnrol(hostname: string, extra: readonly string[] = []): Promise<EnrolOutput> {
      return runStewardJson<EnrolOutput>([
        'agent',
        'enroll',
        '--data',
        join(site.dir, hostname),
        '--directory',
        slapd.url,
        '--base-dn',
        slapd.baseDn,
        '--mode',
        'directory-only',
        '--hostname',
        hostname,
        ...(boundary === undefined ? ['--site-code', 'ABC'] : []),
        ...extra,
      ]);
    }

    beforeAll(async () => {
      slapd = await startSlapd();
      cleanups.push(() => slapd.stop());
      def = slapd.siteSystems[1]!;
      // Machine accounts the directory administrator keeps (docs/directory.md, the OpenLDAP rule).
      await ldapModify(
        slapd.admin,
        `dn: ou=computers,${slapd.baseDn}\nobjectClass: organizationalUnit\nou: computers\n\n` +
          ['e2e-agent', 'planted-agent', 'approved-host', 'refusing-agent']
            .map((cn) => `dn: cn=${cn},ou=computers,${slapd.baseDn}\nobjectClass: device\ncn: ${cn}\n`)
            .join('\n'),
      );
      site = await startDirectorySite(slapd, { approval: 'directory' });
      cleanups.unshift(() => site.stop());
      if (boundary !== undefined) await site.api('POST', '/boundaries', { value: boundary });
    });
    afterAll(async () => {
      await stopAllStewardProcesses();
      for (const cleanup of cleanups) await cleanup();
    });

    it('the site server publishes its entries on start and again when its boundaries change', async () => {
      const mps = await waitUntil(async () => {
        const found = await lookupManagementPoints(slapd.config(), 'ABC');
        return found.managementPoints.length > 0 ? found : undefined;
      }, 'the site to publish its management point');
      expect(mps.managementPoints.map((mp) => [mp.mpName, mp.urls, mp.writer.name])).toEqual([
        ['ABC-MP1', [site.url], 'steward-ABC'],
      ]);
      if (address === undefined) return;
      const located = await waitUntil(async () => {
        const found = await lookupSiteForAddresses(slapd.config(), [address]);
        return found.sites.length > 0 ? found : undefined;
      }, 'the boundary to be published');
      expect(located.sites.map((s) => [s.siteCode, s.matchedBoundary, s.writer.name])).toEqual([
        ['ABC', boundary, 'steward-ABC'],
      ]);
      expect(located.sites[0]?.rootChain).toHaveLength(1);
    });

    it('directory-only enrolment takes the MP, the root and its key from the directory, and a deployment runs end to end', async () => {
      const enrolled = await directoryEnrol('e2e-agent');
      expect(enrolled).toMatchObject({
        siteCode: 'ABC',
        mode: 'directory-only',
        rootSource: 'directory',
        rootFingerprint: site.init.rootFingerprint,
        managementPoint: site.url,
        boundary: boundary ?? null,
        // S1: approved because the directory holds a machine account for e2e-agent.
        state: 'approved',
        rejected: [],
      });
      const dataDir = join(site.dir, 'e2e-agent');
      const config = JSON.parse(await readFile(join(dataDir, 'agent.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      expect(config).toMatchObject({
        mode: 'directory-only',
        rootSource: 'directory',
        managementPoints: [site.url],
        directory: { url: slapd.url, baseDn: slapd.baseDn },
      });

      const deploymentId = await deployMarker(site, 'directory-marker', [enrolled.clientId]);
      const agent = startSteward(['agent', 'run', '--data', dataDir, '--poll-interval', '1']);
      const done = await waitUntil(async () => {
        const view = await site.api<{ summary: { succeeded: number; failed: number } }>(
          'GET',
          `/deployments/${deploymentId}`,
        );
        return view.summary.succeeded + view.summary.failed > 0 ? view : undefined;
      }, 'the agent to report the deployment');
      await agent.stop('SIGTERM');
      expect(done.summary).toMatchObject({ succeeded: 1, failed: 0 });
      expect(await readFile(join(dataDir, 'marker'), 'utf8')).toBe('installed by steward\n');
      const client = await site.running.database.db
        .selectFrom('clients')
        .select('approved_by')
        .where('id', '=', enrolled.clientId)
        .executeTakeFirstOrThrow();
      expect(client.approved_by).toBe(`directory: cn=e2e-agent,ou=computers,${slapd.baseDn}`);
    });

    it('S4: entries planted by another site system are ignored by the agent and reported to the site (status 11020)', async () => {
      const genuine = (await lookupManagementPoints(slapd.config(), 'ABC')).managementPoints[0]!;
      const intruder = new Client({ url: slapd.url });
      await intruder.bind(def.dn, def.password);
      try {
        await intruder.add(`cn=Planted-MP,${container()}`, {
          objectClass: ['stewardManagementPoint'],
          cn: ['Planted-MP'],
          stewardMpName: ['ABC-MP1'],
          stewardSiteCode: ['ABC'],
          stewardMpCertificate: [genuine.certificate],
          stewardUrl: ['http://127.0.0.1:9/'],
        });
      } finally {
        await intruder.unbind();
      }
      try {
        const enrolled = await directoryEnrol('planted-agent');
        expect(enrolled).toMatchObject({
          state: 'approved',
          rootSource: 'directory',
          managementPoint: site.url,
        });
        expect(enrolled.rejected.map((r) => [r.dn, r.reason.slice(0, 28)])).toEqual([
          [`cn=Planted-MP,${container()}`, 'S4: written by steward-DEF ('],
        ]);
        const dataDir = join(site.dir, 'planted-agent');
        const rejectedId = statusByName('directory-entry-rejected').id;
        const queued = (await queuedStatus(dataDir)).filter((m) => m.statusId === rejectedId);
        expect(queued.map((m) => m.insertionStrings[0])).toEqual([`cn=Planted-MP,${container()}`]);

        const run = await runAgentOnce(dataDir);
        expect(run.cycle).toMatchObject({ managementPoint: site.url, errors: [] });
        const page = await site.api<{ items: { status_id: number; insertion_strings: string[] }[] }>(
          'GET',
          `/status-messages?clientId=${enrolled.clientId}&statusId=${rejectedId}&limit=50`,
        );
        // Reported once, although the refresh of the run met the planted entry again.
        expect(page.items.map((m) => m.insertion_strings.slice(0, 2))).toEqual([
          [`cn=Planted-MP,${container()}`, def.dn],
        ]);
      } finally {
        const admin = new Client({ url: slapd.url });
        await admin.bind(slapd.admin.dn, slapd.admin.password);
        await admin.del(`cn=Planted-MP,${container()}`).finally(() => admin.unbind());
      }
    });

    it('directory-only: an MP the directory no longer publishes is refused; republished, it is accepted again', async () => {
      const enrolled = await directoryEnrol('refusing-agent');
      const dataDir = join(site.dir, 'refusing-agent');
      const abc = slapd.siteSystems[0]!;
      const owner = new Client({ url: slapd.url });
      await owner.bind(abc.dn, abc.password);
      try {
        await owner.del(`cn=Steward-MP-ABC-MP1,${container()}`);
      } finally {
        await owner.unbind();
      }
      const refused = await runAgentOnce(dataDir);
      expect(refused.cycle.managementPoint).toBeNull();
      expect(refused.cycle.errors.join('\n')).toMatch(/not one the directory publishes/);
      const mpRefused = statusByName('mp-certificate-refused').id;
      expect((await queuedStatus(dataDir)).some((m) => m.statusId === mpRefused)).toBe(true);

      // A change of boundaries makes the site publish again, which puts the MP entry back.
      await site.api('POST', '/boundaries', { value: '198.51.100.0/24' });
      await waitUntil(async () => {
        const found = await lookupManagementPoints(slapd.config(), 'ABC');
        return found.managementPoints.length > 0;
      }, 'the site to publish its MP again');
      const accepted = await runAgentOnce(dataDir);
      expect(accepted.cycle).toMatchObject({ managementPoint: site.url, errors: [] });
      expect(enrolled.state).toBe('approved');
    });

    it('S1 directory approval: a client whose machine account exists is approved, others wait', async () => {
      const approved = await enrollTestAgent(join(site.dir, 'approved-host'), site.url, site.init.rootKeyId, {
        hostname: 'approved-host',
      });
      expect(approved.state).toBe('approved');
      const unknown = await enrollTestAgent(join(site.dir, 'unknown-host'), site.url, site.init.rootKeyId, {
        hostname: 'unknown-host',
      });
      expect(unknown.state).toBe('pending');
      // A full name must equal the device's cn: approved-host.example.test is not approved-host.
      const full = await enrollTestAgent(join(site.dir, 'full-name'), site.url, site.init.rootKeyId, {
        hostname: 'approved-host.example.test',
      });
      expect(full.state).toBe('pending');
      // One machine account vouches once: a second key claiming the same name waits for an administrator.
      const second = await enrollTestAgent(join(site.dir, 'approved-host-2'), site.url, site.init.rootKeyId, {
        hostname: 'APPROVED-HOST',
      });
      expect(second.state).toBe('pending');
      await rm(join(site.dir, 'approved-host-2'), { recursive: true, force: true });
    });
  },
);
