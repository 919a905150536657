/**
 * The boundary store on every back end: canonical storage, ERR_BOUNDARY_INVALID, ERR_CONFLICT,
 * ERR_BOUNDARY_OVERLAP between sites (and none within one site), concurrent inserts, removal, and
 * the lookup the server locator point makes.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  createBoundary,
  deleteBoundary,
  getBoundary,
  listBoundaries,
  loadSiteBoundaries,
  siteForAddresses,
} from '../../src/site/boundaries/index.js';
import { describeEachBackend, type OpenedTestDatabase } from '../support/backends.js';

async function codeOf(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
  return 'accepted';
}

describeEachBackend('boundary store', (open) => {
  let database: OpenedTestDatabase;
  beforeAll(async () => {
    database = await open();
  });
  afterAll(async () => {
    await database.discard();
  });
  beforeEach(async () => {
    await database.db.deleteFrom('boundaries').execute();
  });

  it('stores subnets and ranges in canonical form and lists them by site', async () => {
    const a = await createBoundary(database.db, {
      siteCode: 'ABC',
      value: ' 2001:0DB8:0000::/32 ',
      description: 'v6',
    });
    const b = await createBoundary(database.db, {
      siteCode: 'ABC',
      value: '192.0.2.10 - 192.0.2.20',
      kind: 'range',
    });
    const c = await createBoundary(database.db, { siteCode: 'XYZ', value: '198.51.100.0/24' });
    expect(a).toMatchObject({ siteCode: 'ABC', kind: 'subnet', value: '2001:db8::/32', description: 'v6' });
    expect(b).toMatchObject({ kind: 'range', value: '192.0.2.10-192.0.2.20', description: '' });
    expect(a.id).toMatch(/^bnd-[0-9a-f]{12}$/);
    expect((await listBoundaries(database.db)).map((r) => r.value)).toEqual([
      '192.0.2.10-192.0.2.20',
      '2001:db8::/32',
      '198.51.100.0/24',
    ]);
    expect(await listBoundaries(database.db, { siteCode: 'XYZ' })).toEqual([c]);
    expect(await getBoundary(database.db, b.id)).toEqual(b);
  });

  it('refuses malformed boundaries, a kind that disagrees, a bad site code or description, writing nothing', async () => {
    const refused: [Parameters<typeof createBoundary>[1], string][] = [
      [{ siteCode: 'ABC', value: '10.1.2.3/16' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'ABC', value: '10.0.0.0/33' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'ABC', value: '10.0.0.9-10.0.0.1' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'ABC', value: '10.0.0.1-::1' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'ABC', value: '010.0.0.0/8' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'ABC', value: '10.0.0.1' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'ABC', value: '::ffff:10.0.0.0/104' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'ABC', value: '10.0.0.0/8', kind: 'range' }, 'ERR_BOUNDARY_INVALID'],
      [{ siteCode: 'abc', value: '10.0.0.0/8' }, 'ERR_INVALID_REQUEST'],
      [{ siteCode: 'ABC', value: '10.0.0.0/8', description: 'a\u0000b' }, 'ERR_INVALID_REQUEST'],
      [{ siteCode: 'ABC', value: '10.0.0.0/8', description: 'x'.repeat(501) }, 'ERR_INVALID_REQUEST'],
    ];
    for (const [input, code] of refused) {
      expect(await codeOf(createBoundary(database.db, input)), JSON.stringify(input)).toBe(code);
    }
    expect(await listBoundaries(database.db)).toEqual([]);
    await expect(createBoundary(database.db, { siteCode: 'ABC', value: '10.1.2.3/16' })).rejects.toThrow(
      'the subnet is 10.1.0.0/16',
    );
  });

  it('ERR_BOUNDARY_OVERLAP between sites, naming the other boundary; overlap within one site is allowed', async () => {
    const wide = await createBoundary(database.db, { siteCode: 'ABC', value: '10.0.0.0/8' });
    expect(await codeOf(createBoundary(database.db, { siteCode: 'ABC', value: '10.1.0.0/16' }))).toBe(
      'accepted',
    );
    expect(await codeOf(createBoundary(database.db, { siteCode: 'ABC', value: '10.1.0.0-10.1.0.255' }))).toBe(
      'accepted',
    );
    const error = await createBoundary(database.db, { siteCode: 'XYZ', value: '10.200.0.0-11.0.0.0' }).catch(
      (e: unknown) => e as Error & { code: string; status: number },
    );
    expect(error).toMatchObject({ code: 'ERR_BOUNDARY_OVERLAP', status: 409 });
    expect((error as Error).message).toContain(`10.0.0.0/8 of site ABC (${wide.id})`);
    // Touching is not overlapping; another family never overlaps.
    expect(await codeOf(createBoundary(database.db, { siteCode: 'XYZ', value: '11.0.0.0/8' }))).toBe(
      'accepted',
    );
    expect(await codeOf(createBoundary(database.db, { siteCode: 'XYZ', value: '::/0' }))).toBe('accepted');
    expect(await codeOf(createBoundary(database.db, { siteCode: 'ABC', value: '2001:db8::/32' }))).toBe(
      'ERR_BOUNDARY_OVERLAP',
    );
    expect(await codeOf(createBoundary(database.db, { siteCode: 'ABC', value: '10.0.0.0/8' }))).toBe(
      'ERR_CONFLICT',
    );
    expect((await listBoundaries(database.db, { siteCode: 'XYZ' })).map((b) => b.value)).toEqual([
      '11.0.0.0/8',
      '::/0',
    ]);
  });

  it('concurrent inserts of overlapping boundaries for different sites: exactly one wins', async () => {
    const sites = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'];
    const results = await Promise.all(
      sites.map((siteCode, i) =>
        codeOf(createBoundary(database.db, { siteCode, value: `172.16.${i}.0-172.16.9.255` })),
      ),
    );
    expect(results.filter((r) => r === 'accepted')).toHaveLength(1);
    expect(results.filter((r) => r === 'ERR_BOUNDARY_OVERLAP')).toHaveLength(sites.length - 1);
    expect(await listBoundaries(database.db)).toHaveLength(1);
  });

  it('removes a boundary and returns it; ERR_NOT_FOUND for an unknown id', async () => {
    const created = await createBoundary(database.db, { siteCode: 'ABC', value: '192.0.2.0/24' });
    expect(await deleteBoundary(database.db, created.id)).toEqual(created);
    expect(await listBoundaries(database.db)).toEqual([]);
    expect(await codeOf(deleteBoundary(database.db, created.id))).toBe('ERR_NOT_FOUND');
    // The freed addresses may now go to another site.
    expect(await codeOf(createBoundary(database.db, { siteCode: 'XYZ', value: '192.0.2.128/25' }))).toBe(
      'accepted',
    );
  });

  it('maps client addresses to sites: most specific boundary wins; rows edited by hand are skipped', async () => {
    const site8 = await createBoundary(database.db, { siteCode: 'ABC', value: '10.0.0.0/8' });
    const site16 = await createBoundary(database.db, { siteCode: 'ABC', value: '10.1.0.0/16' });
    const other = await createBoundary(database.db, { siteCode: 'XYZ', value: '192.0.2.0/24' });
    const range = await createBoundary(database.db, { siteCode: 'XYZ', value: '2001:db8::1-2001:db8::ff' });
    await database.db
      .insertInto('boundaries')
      .values({ id: 'bnd-broken', site_code: 'ZZZ', kind: 'subnet', value: 'not a subnet', description: '' })
      .execute();
    const { boundaries, skipped } = await loadSiteBoundaries(database.db);
    expect(skipped).toBe(1);
    expect(siteForAddresses(boundaries, ['10.2.3.4'])?.boundaryId).toBe(site8.id);
    expect(siteForAddresses(boundaries, ['10.1.3.4'])?.boundaryId).toBe(site16.id);
    // The more specific boundary wins across a client's addresses, whatever their order.
    expect(siteForAddresses(boundaries, ['10.2.3.4', '192.0.2.9'])).toMatchObject({
      siteCode: 'XYZ',
      boundaryId: other.id,
      address: { text: '192.0.2.9' },
    });
    expect(siteForAddresses(boundaries, ['::ffff:10.1.0.1'])?.boundaryId).toBe(site16.id);
    expect(siteForAddresses(boundaries, ['fe80::1%eth0', '2001:db8::10'])?.boundaryId).toBe(range.id);
    expect(siteForAddresses(boundaries, ['203.0.113.1', 'garbage'])).toBeUndefined();
  });
});
