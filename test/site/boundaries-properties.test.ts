/**
 * Boundaries: parsing and containment as properties (fast-check), with ipaddr.js as an independent
 * oracle for address text, and brute force as the oracle for "most specific match wins".
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  parseBoundary,
  parseClientAddress,
  siteForAddresses,
  type SiteBoundary,
} from '../../src/site/boundaries/index.js';
import {
  boundariesOverlap,
  boundaryContains,
  boundarySize,
  formatIpAddress,
  readNetworkBoundary,
  type IpFamily,
} from '../../src/trust/index.js';

const bitsOf = (family: IpFamily) => (family === 4 ? 32 : 128);

const family = fc.constantFrom<IpFamily>(4, 6);
const value = (f: IpFamily) => fc.bigInt({ min: 0n, max: (1n << BigInt(bitsOf(f))) - 1n });
/** Values that are not IPv4-mapped IPv6 (boundaries refuse those; addresses turn them into IPv4). */
const plainValue = (f: IpFamily) => value(f).filter((v) => f === 4 || v >> 32n !== 0xffffn);
const address = family.chain((f) => plainValue(f).map((v) => ({ family: f, value: v })));

function subnetOf(f: IpFamily, v: bigint, prefix: number) {
  const hostMask = (1n << BigInt(bitsOf(f) - prefix)) - 1n;
  return { first: v & ~hostMask, last: (v & ~hostMask) | hostMask };
}

const subnet = address.chain((a) =>
  fc.integer({ min: 0, max: bitsOf(a.family) }).map((prefix) => {
    const { first, last } = subnetOf(a.family, a.value, prefix);
    return { family: a.family, first, last, text: `${formatIpAddress(a.family, first)}/${prefix}` };
  }),
);

const range = family.chain((f) =>
  fc.tuple(plainValue(f), plainValue(f)).map(([a, b]) => {
    const [first, last] = a <= b ? [a, b] : [b, a];
    return { family: f, first, last, text: `${formatIpAddress(f, first)}-${formatIpAddress(f, last)}` };
  }),
);

/** An IPv6 text written the long way: every group, leading zeros, upper case. */
function longIpv6(v: bigint): string {
  return Array.from({ length: 8 }, (_, i) =>
    ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16).padStart(4, '0').toUpperCase(),
  ).join(':');
}

describe('boundary parsing and containment (properties)', () => {
  it('formats addresses as ipaddr.js does (dotted quad, RFC 5952) and reads them back', () => {
    fc.assert(
      fc.property(address, (a) => {
        const text = formatIpAddress(a.family, a.value);
        const oracle = ipaddr.fromByteArray(bytesOf(a.family, a.value));
        expect(text).toBe(a.family === 4 ? oracle.toString() : (oracle as ipaddr.IPv6).toRFC5952String());
        expect(parseClientAddress(text)).toEqual({ family: a.family, value: a.value, text });
        if (a.family === 6) expect(parseClientAddress(longIpv6(a.value))?.text).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('reads an IPv4-mapped IPv6 address as its IPv4 address, and drops an IPv6 zone', () => {
    fc.assert(
      fc.property(value(4), fc.stringMatching(/^[a-z0-9]{1,8}$/), (v, zone) => {
        const v4 = formatIpAddress(4, v);
        expect(parseClientAddress(`::ffff:${v4}`)?.text).toBe(v4);
        expect(parseClientAddress(`fe80::${v.toString(16).slice(0, 4) || '0'}%${zone}`)?.family).toBe(6);
      }),
      { numRuns: 200 },
    );
  });

  it('a subnet parses to its network and broadcast ends, in canonical text, and round-trips', () => {
    fc.assert(
      fc.property(subnet, (s) => {
        const parsed = parseBoundary(s.text);
        expect(parsed).toEqual({
          kind: 'subnet',
          family: s.family,
          first: s.first,
          last: s.last,
          text: s.text,
        });
        expect(parseBoundary(` ${s.text} `).text).toBe(s.text);
      }),
      { numRuns: 500 },
    );
  });

  it('a range parses to its ends and round-trips; written backwards it is refused', () => {
    fc.assert(
      fc.property(range, (r) => {
        expect(parseBoundary(r.text)).toEqual({ kind: 'range', ...r });
        if (r.first !== r.last) {
          const backwards = `${formatIpAddress(r.family, r.last)}-${formatIpAddress(r.family, r.first)}`;
          expect(() => parseBoundary(backwards)).toThrow(/starts after it ends/);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('subnet containment agrees with ipaddr.js match()', () => {
    fc.assert(
      fc.property(subnet, plainValue(4), plainValue(6), (s, v4, v6) => {
        const boundary = parseBoundary(s.text);
        const [network, prefix] = ipaddr.parseCIDR(s.text);
        for (const candidate of [s.first, s.last, s.family === 4 ? v4 : v6]) {
          // An IPv4-mapped IPv6 address is read as the IPv4 address it carries (documented), so a
          // subnet edge that happens to be one, like ::ffff:ffff:ffff for ::/80, is not compared.
          if (s.family === 6 && candidate >> 32n === 0xffffn) continue;
          const text = formatIpAddress(s.family, candidate);
          const client = parseClientAddress(text)!;
          const oracle = ipaddr.parse(text);
          const expected = oracle.kind() === network.kind() && oracle.match([network, prefix] as never);
          expect(boundaryContains(boundary, client), `${text} in ${s.text}`).toBe(expected);
        }
        const other = parseClientAddress(formatIpAddress(s.family === 4 ? 6 : 4, s.family === 4 ? v6 : v4))!;
        expect(boundaryContains(boundary, other)).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('host bits set are refused with the network named', () => {
    fc.assert(
      fc.property(address, fc.integer({ min: 0, max: 127 }), (a, p) => {
        const prefix = p % bitsOf(a.family);
        const { first } = subnetOf(a.family, a.value, prefix);
        fc.pre(first !== a.value);
        const text = `${formatIpAddress(a.family, a.value)}/${prefix}`;
        expect(() => parseBoundary(text)).toThrow(
          `the subnet is ${formatIpAddress(a.family, first)}/${prefix}`,
        );
      }),
      { numRuns: 300 },
    );
  });

  it('any text either parses to a canonical boundary that re-parses to itself, or is refused (never throws otherwise)', () => {
    const texty = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.stringMatching(/^[0-9a-fA-F:./ -]{0,60}$/),
      subnet.map((s) => s.text.replace(/\//, '/0')),
    );
    fc.assert(
      fc.property(texty, (text) => {
        const reading = readNetworkBoundary(text);
        if ('boundary' in reading) {
          const again = readNetworkBoundary(reading.boundary.text);
          expect(again).toEqual(reading);
          expect(reading.boundary.first <= reading.boundary.last).toBe(true);
        } else {
          expect(() => parseBoundary(text)).toThrow(
            expect.objectContaining({ code: 'ERR_BOUNDARY_INVALID' }),
          );
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('two boundaries overlap exactly when some address lies in both (small ranges, brute force)', () => {
    const small = fc
      .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }))
      .map(([a, b]) => parseBoundary(`10.0.0.${Math.min(a, b)}-10.0.0.${Math.max(a, b)}`));
    fc.assert(
      fc.property(small, small, (a, b) => {
        let shared = false;
        for (let i = 0; i <= 40; i += 1) {
          const client = parseClientAddress(`10.0.0.${i}`)!;
          if (boundaryContains(a, client) && boundaryContains(b, client)) shared = true;
        }
        expect(boundariesOverlap(a, b)).toBe(shared);
        expect(boundariesOverlap(b, a)).toBe(shared);
      }),
      { numRuns: 500 },
    );
  });

  it('siteForAddresses picks the boundary with the fewest addresses holding any client address; ties go to the earlier address', () => {
    const entry = fc
      .tuple(
        fc.constantFrom('AAA', 'BBB', 'CCC'),
        fc.oneof(
          fc.integer({ min: 8, max: 32 }).map((prefix) => {
            const { first } = subnetOf(4, 0x0a000000n + BigInt(prefix) * 977n, prefix);
            return `${formatIpAddress(4, first)}/${prefix}`;
          }),
          fc
            .tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
            .map(([a, b]) => `10.0.${Math.min(a, b)}.0-10.0.${Math.max(a, b)}.255`),
        ),
      )
      .map(([siteCode, text]) => ({ siteCode, boundary: parseBoundary(text) }));
    const clientAddress = fc
      .tuple(
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
      )
      .map(([b, c, d]) => `10.${b}.${c}.${d}`);
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 12 }),
        fc.array(clientAddress, { minLength: 1, maxLength: 4 }),
        (entries, addresses) => {
          const boundaries: SiteBoundary[] = entries.map((e, i) => ({
            id: `b${String(i).padStart(2, '0')}`,
            ...e,
          }));
          const match = siteForAddresses(boundaries, addresses);
          let best: { size: bigint; index: number; id: string } | undefined;
          addresses.forEach((text, index) => {
            const client = parseClientAddress(text)!;
            for (const b of boundaries) {
              if (!boundaryContains(b.boundary, client)) continue;
              const size = boundarySize(b.boundary);
              const better =
                best === undefined ||
                size < best.size ||
                (size === best.size && index === best.index && b.id < best.id);
              if (better) best = { size, index, id: b.id };
            }
          });
          if (best === undefined) expect(match).toBeUndefined();
          else {
            expect(match?.boundaryId).toBe(best.id);
            expect(boundarySize(match!.boundary)).toBe(best.size);
            expect(match?.address.text).toBe(addresses[best.index]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

function bytesOf(f: IpFamily, v: bigint): number[] {
  const count = f === 4 ? 4 : 16;
  return Array.from({ length: count }, (_, i) => Number((v >> BigInt(8 * (count - 1 - i))) & 0xffn));
}
