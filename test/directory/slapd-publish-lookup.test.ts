/**
 * Publishing and lookup against a real slapd (COMPONENTS.md ACLs, two site systems): the directory
 * stores signed envelopes that verify against the root (C1, C2), each site system changes only its
 * own entries, and lookup ignores and reports entries whose writer is not the system named (S4).
 */
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  lookupManagementPoints,
  lookupRootChain,
  lookupSiteForAddresses,
  publishSiteEntries,
  unpublishSiteEntries,
} from '../../src/directory/index.js';
import { verifyMpCertificate, verifySiteCertificate } from '../../src/trust/index.js';
import { startSlapd, slapdSkipReason, type TestAccount, type TestSlapd } from '../support/slapd.js';
import { createHierarchy, now } from './support/site-pki.js';

const skip = slapdSkipReason();
if (skip !== undefined) console.warn(`slapd tests skipped: ${skip}`);

describe.skipIf(skip !== undefined)('directory publish and lookup (slapd)', () => {
  let slapd: TestSlapd;
  let abc: TestAccount;
  let def: TestAccount;
  const pki = createHierarchy();
  const siteAbc = pki.siteCertificate('ABC');
  const mpAbc = pki.mpCertificate('ABC-MP1', 'ABC', ['https://mp1.abc.example.test:8443/']);

  beforeAll(async () => {
    slapd = await startSlapd();
    [abc, def] = slapd.siteSystems as [TestAccount, TestAccount];
    await publishSiteEntries(slapd.config(abc), {
      siteCertificate: siteAbc,
      boundaries: ['10.1.0.0/16', '192.0.2.10-192.0.2.20'],
      rootChain: [pki.rootDocument],
      managementPoints: [{ certificate: mpAbc }],
      serverLocatorPoints: [{ name: 'ABC-SLP1', siteCode: 'ABC', urls: ['https://slp.abc.example.test/'] }],
    });
  });
  afterAll(async () => {
    await slapd.stop();
  });

  async function as(account: TestAccount): Promise<Client> {
    const client = new Client({ url: slapd.url });
    await client.bind(account.dn, account.password);
    return client;
  }

  it('publish then lookup by boundary returns a site certificate and root chain that verify (C1, C2)', async () => {
    const found = await lookupSiteForAddresses(slapd.config(), ['192.0.2.15']);
    expect(found.rejected).toEqual([]);
    expect(found.sites.map((s) => [s.siteCode, s.matchedBoundary])).toEqual([
      ['ABC', '192.0.2.10-192.0.2.20'],
    ]);
    const site = found.sites[0]!;
    expect(site.rootChain).toEqual([pki.rootDocument]);
    expect(site.writer.name).toBe('steward-ABC');
    expect(verifySiteCertificate(site.siteCertificate, pki.root, now, 'ABC').payload.siteCode).toBe('ABC');
    expect((await lookupSiteForAddresses(slapd.config(), ['10.1.200.3'])).sites[0]?.matchedBoundary).toBe(
      '10.1.0.0/16',
    );
    expect((await lookupSiteForAddresses(slapd.config(), ['10.2.0.1'])).sites).toEqual([]);
  });

  it('lookup by site code returns MP certificates that verify against the root (C2) and their creatorsName', async () => {
    const found = await lookupManagementPoints(slapd.config(), 'ABC');
    expect(found.rejected).toEqual([]);
    expect(found.managementPoints).toHaveLength(1);
    const mp = found.managementPoints[0]!;
    expect(mp.writer).toMatchObject({ source: 'creatorsName', name: 'steward-ABC' });
    expect(mp.writer.dn.toLowerCase()).toBe(abc.dn.toLowerCase());
    const verified = verifyMpCertificate(mp.certificate, pki.root, now, 'ABC');
    expect(verified.payload.urls).toEqual(['https://mp1.abc.example.test:8443/']);
    expect(found.serverLocatorPoints.map((s) => s.urls)).toEqual([['https://slp.abc.example.test/']]);
    expect((await lookupRootChain(slapd.config(), 'ABC')).documents).toEqual([pki.rootDocument]);
  });

  it('republishing changes only what changed and removes its own stale entries', async () => {
    const again = await publishSiteEntries(slapd.config(abc), {
      siteCertificate: siteAbc,
      boundaries: ['10.1.0.0/16'],
      rootChain: [pki.rootDocument],
      managementPoints: [{ certificate: mpAbc }],
    });
    expect(again.created).toEqual([]);
    expect(again.updated).toEqual([]);
    expect(again.removed).toEqual([
      `cn=Steward-Range-ABC-192.0.2.10-192.0.2.20,cn=System Management,cn=System,${slapd.baseDn}`,
    ]);
    expect((await lookupSiteForAddresses(slapd.config(), ['192.0.2.15'])).sites).toEqual([]);
    const back = await publishSiteEntries(slapd.config(abc), {
      siteCertificate: siteAbc,
      boundaries: ['10.1.0.0/16', '192.0.2.10-192.0.2.20'],
    });
    expect(back.created).toHaveLength(1);
  });

  it('a second site system can neither modify nor delete the first one’s entries', async () => {
    const mpDn = (await lookupManagementPoints(slapd.config(), 'ABC')).managementPoints[0]!.dn;
    const client = await as(def);
    try {
      const change = new Change({
        operation: 'replace',
        modification: new Attribute({ type: 'stewardUrl', values: ['https://evil.test/'] }),
      });
      await expect(client.modify(mpDn, [change])).rejects.toMatchObject({ code: 50 });
      await expect(client.del(mpDn)).rejects.toMatchObject({ code: 50 });
    } finally {
      await client.unbind();
    }
    await expect(
      publishSiteEntries(slapd.config(def), { managementPoints: [{ certificate: mpAbc }] }),
    ).rejects.toMatchObject({ code: 'ERR_DIRECTORY_CONFLICT' });
    expect((await lookupManagementPoints(slapd.config(), 'ABC')).managementPoints[0]?.urls).toEqual([
      'https://mp1.abc.example.test:8443/',
    ]);
  });

  it('S4 ignores and reports entries planted by the wrong writer', async () => {
    const client = await as(def);
    const container = `cn=System Management,cn=System,${slapd.baseDn}`;
    try {
      await client.add(`cn=Planted-Site,${container}`, {
        objectClass: ['stewardSite'],
        cn: ['Planted-Site'],
        stewardSiteCode: ['ABC'],
        stewardSiteCertificate: [siteAbc],
        stewardBoundary: ['0.0.0.0/0'],
      });
      await client.add(`cn=Planted-MP,${container}`, {
        objectClass: ['stewardManagementPoint'],
        cn: ['Planted-MP'],
        stewardMpName: ['ABC-MP1'],
        stewardSiteCode: ['ABC'],
        stewardMpCertificate: [mpAbc],
        stewardUrl: ['https://mp1.abc.example.test:8443/'],
      });
    } finally {
      await client.unbind();
    }
    const sites = await lookupSiteForAddresses(slapd.config(), ['172.16.0.1']);
    expect(sites.sites).toEqual([]);
    expect(sites.rejected.map((r) => [r.kind, r.dn, r.reason.slice(0, 28)])).toEqual([
      ['site', `cn=Planted-Site,${container}`, 'S4: written by steward-DEF ('],
    ]);
    const mps = await lookupManagementPoints(slapd.config(), 'ABC');
    expect(mps.managementPoints.map((m) => m.mpName)).toEqual(['ABC-MP1']);
    expect(mps.managementPoints[0]?.writer.name).toBe('steward-ABC');
    expect(mps.rejected.map((r) => [r.dn, r.reason.slice(0, 28)])).toEqual([
      [`cn=Planted-MP,${container}`, 'S4: written by steward-DEF ('],
    ]);
  });

  it('with a root to verify against, lookup rejects a certificate from another hierarchy (C2)', async () => {
    const stranger = createHierarchy();
    await publishSiteEntries(slapd.config(abc), {
      managementPoints: [
        { certificate: mpAbc },
        { certificate: stranger.mpCertificate('ABC-MP9', 'ABC', ['https://mp9.example.test/']) },
      ],
    });
    const found = await lookupManagementPoints(slapd.config(), 'ABC', { verify: { root: pki.root, now } });
    expect(found.managementPoints.map((m) => m.mpName)).toEqual(['ABC-MP1']);
    expect(found.rejected.filter((r) => r.dn.includes('ABC-MP9')).map((r) => r.code)).toEqual([
      'ERR_UNKNOWN_KEY',
    ]);
  });

  it('unpublish removes this account’s entries and nobody else’s', async () => {
    const siteDef = pki.siteCertificate('DEF');
    await publishSiteEntries(slapd.config(def), { siteCertificate: siteDef, boundaries: ['10.9.0.0/16'] });
    const removed = await unpublishSiteEntries(slapd.config(abc), { siteCode: 'ABC' });
    expect(removed.removed.length).toBeGreaterThanOrEqual(5);
    expect((await lookupManagementPoints(slapd.config(), 'ABC')).managementPoints).toEqual([]);
    expect((await lookupSiteForAddresses(slapd.config(), ['10.9.1.1'])).sites.map((s) => s.siteCode)).toEqual(
      ['DEF'],
    );
  });
});
