/**
 * A parent site serving plain HTTP on loopback still presents its site certificate on its link to
 * a child served over HTTPS (docs/tls.md, "Site certificates"): a central site on 127.0.0.1 with
 * `--tls never` certifies a joining primary, which serves HTTPS with mutual TLS on its link
 * endpoint; a collection created at the central site reaches it over that link, and the child's
 * link endpoint still refuses a caller without a site certificate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsFetch, tlsOptionsFor } from '../../src/trust/index.js';
import { waitUntil } from '../support/steward-process.js';
import { joinHttpsChild, startHttpsCentral, type HttpsHierarchySite } from './support/https-hierarchy.js';

let central: HttpsHierarchySite;
let child: HttpsHierarchySite;
let caPem: string;

beforeAll(async () => {
  ({ site: central, caPem } = await startHttpsCentral('PHC', '127.0.0.1', ['--tls', 'never'], 'http'));
  child = await joinHttpsChild(central, 'PHP', '127.0.0.2', tlsOptionsFor({ caPem }));
}, 240_000);

afterAll(async () => {
  await child.remove();
  await central.remove();
});

interface LinkView {
  siteCode: string;
  acknowledgedSequence: number;
  lastError: string | null;
}

describe('a plain-HTTP parent and an HTTPS child', () => {
  it('the parent sends down over mutual TLS with its own site certificate', async () => {
    expect(central.url.startsWith('http://')).toBe(true);
    expect(child.url.startsWith('https://')).toBe(true);
    const created = await central.api<{ id: string }>('POST', '/collections', {
      name: 'sent over mutual TLS',
      rule: null,
      clientIds: [],
    });
    await waitUntil(
      async () => {
        const collections = await child.api<{ items: { id: string }[] }>('GET', '/collections');
        return collections.items.some((c) => c.id === created.id);
      },
      'the collection to reach the HTTPS child',
      60_000,
      250,
    );
    const view = await central.api<{ links: LinkView[] }>('GET', '/hierarchy');
    const link = view.links.find((l) => l.siteCode === 'PHP');
    expect(link?.acknowledgedSequence).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it("the child's link endpoint refuses a caller without a site certificate", async () => {
    const answer = await httpsFetch(`${child.url}/hierarchy/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'x' }),
      tls: tlsOptionsFor({ caPem }),
    });
    expect(answer.status).toBe(403);
    expect(Buffer.from(answer.body).toString()).toContain('ERR_SITE_LINK_PEER');
  });
});
