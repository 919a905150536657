/**
 * Boundaries (DESIGN.md section 3): IPv4 and IPv6 subnets (`192.0.2.0/24`, `2001:db8::/32`) and
 * ranges (`192.0.2.10-192.0.2.20`) that map clients to sites. Parsing and containment are the trust
 * core's (src/trust/network-boundary.ts), so that the site and its agents agree on every address.
 *
 * Which site serves a client (siteForAddresses): among every pair of a client address and a boundary
 * that holds it, the boundary with the fewest addresses wins (the most specific; a /32 beats a /24,
 * a 50-address range beats a /24 of 256, any IPv4 boundary beats an IPv6 /64). Ties go to the
 * address the client listed first, then to the lowest boundary id. Since boundaries of different
 * sites never overlap (ERR_BOUNDARY_OVERLAP), one address falls in at most one site; the rule
 * decides between the sites of a client's several addresses, and between the nested boundaries of
 * one site.
 */
import {
  boundaryContains,
  boundarySize,
  parseIpAddress,
  readNetworkBoundary,
  type IpAddressValue,
  type NetworkBoundary,
} from '../../trust/index.js';
import { BoundaryInvalidError } from './boundary-errors.js';

export type BoundaryKind = NetworkBoundary['kind'];

/**
 * Parses a boundary typed by an administrator; the kind follows from the text (`/` subnet, `-`
 * range) and, when given, must agree. ERR_BOUNDARY_INVALID says what is wrong.
 */
export function parseBoundary(text: string, kind?: BoundaryKind): NetworkBoundary {
  const reading = readNetworkBoundary(text);
  if ('problem' in reading) {
    throw new BoundaryInvalidError(`The boundary "${text.slice(0, 100)}" ${reading.problem}.`);
  }
  if (kind !== undefined && reading.boundary.kind !== kind) {
    throw new BoundaryInvalidError(
      `The boundary "${reading.boundary.text}" is a ${reading.boundary.kind}, not a ${kind}.`,
    );
  }
  return reading.boundary;
}

/** A client address, or undefined when the text is not one (see parseIpAddress). */
export function parseClientAddress(text: string): IpAddressValue | undefined {
  return parseIpAddress(text);
}

/** A boundary as the site holds it: its id, its site, and its interval. */
export interface SiteBoundary {
  readonly id: string;
  readonly siteCode: string;
  readonly boundary: NetworkBoundary;
}

/** The site a client belongs to, the boundary that decided it and the address that fell in it. */
export interface BoundaryMatch {
  readonly siteCode: string;
  readonly boundaryId: string;
  readonly boundary: NetworkBoundary;
  readonly address: IpAddressValue;
}

/**
 * Boundaries sorted once, most specific first, for many lookups (the server locator point). A lookup
 * walks the list once per address and stops at the first boundary holding it.
 */
export class BoundaryIndex {
  readonly #sorted: readonly SiteBoundary[];

  constructor(boundaries: Iterable<SiteBoundary>) {
    this.#sorted = [...boundaries].sort((a, b) => {
      const bySize = boundarySize(a.boundary) - boundarySize(b.boundary);
      if (bySize !== 0n) return bySize < 0n ? -1 : 1;
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    });
  }

  get size(): number {
    return this.#sorted.length;
  }

  /** The best match for the client's addresses (module comment), or undefined when none matches. */
  match(addresses: readonly string[]): BoundaryMatch | undefined {
    let best: BoundaryMatch | undefined;
    for (const text of addresses) {
      const address = parseClientAddress(text);
      if (address === undefined) continue;
      const entry = this.#sorted.find((candidate) => boundaryContains(candidate.boundary, address));
      if (entry === undefined) continue;
      // Strictly fewer addresses only: on a tie the earlier client address keeps the match.
      if (best === undefined || boundarySize(entry.boundary) < boundarySize(best.boundary)) {
        best = { siteCode: entry.siteCode, boundaryId: entry.id, boundary: entry.boundary, address };
      }
    }
    return best;
  }
}

/** Which site serves a client with these addresses (module comment for the rule). */
export function siteForAddresses(
  boundaries: Iterable<SiteBoundary>,
  addresses: readonly string[],
): BoundaryMatch | undefined {
  return new BoundaryIndex(boundaries).match(addresses);
}
