/**
 * Locating a site by boundary (DESIGN.md section 3): which site's boundaries contain one of the
 * client's addresses, read only from entries that pass S4. Boundaries are parsed and matched by the
 * trust core (src/trust/network-boundary.ts), as the site and the server locator point do. Returns the stored signed envelopes,
 * never a conclusion the caller could take on the directory's word: the caller verifies the site
 * certificate and the root chain (C1, C2), unless it passed `verify` and let screenRecords do it.
 */
import {
  boundaryContains,
  boundarySize,
  parseIpAddress,
  readNetworkBoundary,
  type IpAddressValue,
  type NetworkBoundary,
} from '../../trust/index.js';
import { screenRecords, type VerifyOptions } from './authorship.js';
import { DirectoryConfigError } from './directory-errors.js';
import type { DirectoryConfig } from './directory-config.js';
import { readRecords, type RejectedEntry } from './entries.js';
import { withDirectorySession } from './session.js';
import type { EntryWriter } from './writer.js';

export interface SiteMatch {
  dn: string;
  siteCode: string;
  /** The site that clients inside these boundaries are assigned to (a secondary site's parent). */
  assignedSiteCode: string;
  /** The root-signed site certificate, as stored (DSSE envelope JSON). */
  siteCertificate: string;
  siteKey: string | undefined;
  /** The addresses this site's boundaries contain, and the most specific boundary among them. */
  matchedAddresses: string[];
  matchedBoundary: string;
  boundaries: string[];
  /** The root documents the site publishes (version order as stored); empty when none. */
  rootChain: string[];
  writer: EntryWriter;
}

export interface SiteLookupResult {
  /** Sites whose boundaries contain an address, most specific boundary first. */
  sites: SiteMatch[];
  /** True when more than one site matched: overlapping boundaries, an administrator should look. */
  ambiguous: boolean;
  rejected: RejectedEntry[];
}

export interface LookupOptions {
  verify?: VerifyOptions;
}

function boundaryOf(text: string): NetworkBoundary | undefined {
  const reading = readNetworkBoundary(text);
  return 'boundary' in reading ? reading.boundary : undefined;
}

/** Finds the site(s) whose boundaries contain any of `addresses`. */
export async function lookupSiteForAddresses(
  config: DirectoryConfig,
  addresses: readonly string[],
  options: LookupOptions = {},
): Promise<SiteLookupResult> {
  const parsed = addresses.map(parseIpAddress);
  if (parsed.length === 0 || parsed.length > 64 || parsed.some((a) => a === undefined)) {
    throw new DirectoryConfigError('Give between 1 and 64 IP addresses to locate a site by boundary.');
  }
  const clientAddresses = parsed as IpAddressValue[];
  return withDirectorySession(config, async (session) => {
    const rejected: RejectedEntry[] = [];
    const sites = await readRecords(session, 'site');
    const ranges = await readRecords(session, 'boundaryRange');
    rejected.push(...sites.rejected, ...ranges.rejected);
    const goodSites = screenRecords(sites.records, options.verify);
    const goodRanges = screenRecords(ranges.records);
    rejected.push(...goodSites.rejected, ...goodRanges.rejected);

    const matches: (SiteMatch & { size: bigint })[] = [];
    for (const site of goodSites.accepted) {
      const texts = [
        ...site.boundaries,
        ...goodRanges.accepted.filter((r) => r.siteCode === site.siteCode).map((r) => `${r.low}-${r.high}`),
      ];
      const boundaries = texts.map(boundaryOf).filter((b): b is NetworkBoundary => b !== undefined);
      let best: NetworkBoundary | undefined;
      const matched = new Set<string>();
      for (const boundary of boundaries) {
        for (const address of clientAddresses) {
          if (!boundaryContains(boundary, address)) continue;
          matched.add(address.text);
          if (best === undefined || boundarySize(boundary) < boundarySize(best)) best = boundary;
        }
      }
      if (best === undefined || site.writer === undefined) continue;
      matches.push({
        dn: site.dn,
        siteCode: site.siteCode,
        assignedSiteCode: site.assignedSiteCode,
        siteCertificate: site.siteCertificate,
        siteKey: site.siteKey,
        matchedAddresses: [...matched],
        matchedBoundary: best.text,
        boundaries: boundaries.map((b) => b.text),
        rootChain: [],
        writer: site.writer,
        size: boundarySize(best),
      });
    }
    matches.sort((x, y) =>
      x.size < y.size ? -1 : x.size > y.size ? 1 : x.siteCode.localeCompare(y.siteCode),
    );
    for (const match of matches) {
      const chains = await readRecords(session, 'rootChain', match.siteCode);
      const good = screenRecords(chains.records);
      rejected.push(...chains.rejected, ...good.rejected);
      match.rootChain = good.accepted[0]?.documents ?? [];
    }
    return {
      sites: matches.map(({ size: _size, ...match }) => match),
      ambiguous: new Set(matches.map((m) => m.siteCode)).size > 1,
      rejected,
    };
  });
}
