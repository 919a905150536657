/**
 * The server locator point embedded in a running site, over a real socket: an administrator adds a
 * boundary, and an agent with the root pinned at install locates its site and management point and
 * verifies the answer (C1 pin, C2 site certificate, C2 locating).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { locateBySlp } from '../../src/agent/locate/index.js';
import { managementPointPaths, trustBundleSchema } from '../../src/protocol/index.js';
import { SigningKey, trustRootFromPin } from '../../src/trust/index.js';
import { startTestSite, type TestSite } from '../support/site-fixture.js';

describe('server locator point in a running site', () => {
  let site: TestSite;

  beforeAll(async () => {
    site = await startTestSite();
  }, 60_000);

  afterAll(async () => {
    await site.stop();
  });

  it('answers ERR_NO_BOUNDARY until a boundary is added, then a verified answer at once', async () => {
    const now = new Date();
    await expect(
      locateBySlp(site.site.url, ['127.0.0.1'], { pin: site.init.rootFingerprint, now }),
    ).rejects.toMatchObject({ code: 'ERR_NO_BOUNDARY', status: 404 });

    const added = await site.inject({
      method: 'POST',
      url: '/api/v1/boundaries',
      payload: { value: '127.0.0.0/8' },
    });
    expect(added.statusCode).toBe(201);

    const located = await locateBySlp(`${site.site.url}/`, ['::1', '127.0.0.1'], {
      pin: site.init.rootFingerprint,
      now: new Date(),
    });
    expect(located).toMatchObject({
      siteCode: site.init.siteCode,
      managementPointUrls: [site.site.url],
      managementPoints: [{ name: `${site.init.siteCode}-MP1`, urls: [site.site.url] }],
      verified: true,
      boundary: '127.0.0.0/8',
    });
    expect(Date.parse(located.expiresAt) - Date.now()).toBeGreaterThan(9 * 60_000);
  });

  it('verifies from a root the agent holds, refuses a hierarchy it does not trust, and marks first use unverified', async () => {
    const trust = await fetch(`${site.site.url}${managementPointPaths.trust}`);
    const bundle = trustBundleSchema.parse(await trust.json());
    const now = new Date();
    const root = trustRootFromPin(bundle.rootChain, site.init.rootFingerprint, now);
    const held = await locateBySlp(site.site.url, ['127.0.0.1'], { root, now, siteCode: site.init.siteCode });
    expect(held.verified).toBe(true);
    expect(held.root.version).toBe(1);

    await expect(
      locateBySlp(site.site.url, ['127.0.0.1'], { pin: SigningKey.generate().fingerprint, now }),
    ).rejects.toMatchObject({ code: 'ERR_ROOT_PIN_MISMATCH' });
    await expect(
      locateBySlp(site.site.url, ['127.0.0.1'], { root, now, siteCode: 'XYZ' }),
    ).rejects.toMatchObject({ code: 'ERR_WRONG_RECIPIENT' });

    const firstUse = await locateBySlp(site.site.url, ['127.0.0.1'], { now });
    expect(firstUse.verified).toBe(false);
    expect(firstUse.siteCode).toBe(site.init.siteCode);
  });

  it('the site refuses an oversized request; the agent sends only IP addresses, at most 64', async () => {
    const response = await fetch(`${site.site.url}/slp/v1/locate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ addresses: ['x'.repeat(10_000)] }),
    });
    expect(response.status).toBe(413);
    await expect(locateBySlp(site.site.url, ['not an address'], { now: new Date() })).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_INVALID',
    });
    // Only IP addresses are sent, each once, at most 64 of them.
    const many = ['garbage', ...Array.from({ length: 100 }, (_, i) => `10.77.${i}.1`), '127.0.0.1'];
    await expect(locateBySlp(site.site.url, many, { now: new Date() })).rejects.toMatchObject({
      code: 'ERR_NO_BOUNDARY',
    });
  });
});
