/**
 * Locating management points by site code (DESIGN.md section 3), like SMS clients reading the
 * System Management container. Only entries that pass S4 are returned; with `verify`, only those
 * whose MP certificate also chains to the given root for this site (C2).
 */
import { screenRecords, type VerifyOptions } from './authorship.js';
import { DirectoryConfigError } from './directory-errors.js';
import type { DirectoryConfig } from './directory-config.js';
import { readRecords, type RejectedEntry } from './entries.js';
import { withDirectorySession } from './session.js';
import type { EntryWriter } from './writer.js';

export interface ManagementPointMatch {
  dn: string;
  mpName: string;
  siteCode: string;
  urls: string[];
  /** The root-signed MP certificate, as stored (DSSE envelope JSON). */
  certificate: string;
  writer: EntryWriter;
}

export interface ServerLocatorPointMatch {
  dn: string;
  name: string;
  siteCode: string;
  urls: string[];
  writer: EntryWriter;
}

export interface ManagementPointLookupResult {
  managementPoints: ManagementPointMatch[];
  serverLocatorPoints: ServerLocatorPointMatch[];
  rejected: RejectedEntry[];
}

export function checkSiteCode(siteCode: string): void {
  if (!/^[A-Z0-9]{3}$/.test(siteCode)) {
    throw new DirectoryConfigError(`"${siteCode}" is not a site code (three capital letters or digits).`);
  }
}

export async function lookupManagementPoints(
  config: DirectoryConfig,
  siteCode: string,
  options: { verify?: VerifyOptions } = {},
): Promise<ManagementPointLookupResult> {
  checkSiteCode(siteCode);
  return withDirectorySession(config, async (session) => {
    const mps = await readRecords(session, 'managementPoint', siteCode);
    const slps = await readRecords(session, 'serverLocatorPoint', siteCode);
    const goodMps = screenRecords(mps.records, options.verify);
    const goodSlps = screenRecords(slps.records);
    const withWriter = <R extends { writer: EntryWriter | undefined }>(
      r: R,
    ): r is R & { writer: EntryWriter } => r.writer !== undefined;
    return {
      managementPoints: goodMps.accepted.filter(withWriter).map((mp) => ({
        dn: mp.dn,
        mpName: mp.mpName,
        siteCode: mp.siteCode,
        urls: mp.urls,
        certificate: mp.certificate,
        writer: mp.writer,
      })),
      serverLocatorPoints: goodSlps.accepted.filter(withWriter).map((slp) => ({
        dn: slp.dn,
        name: slp.name,
        siteCode: slp.siteCode,
        urls: slp.urls,
        writer: slp.writer,
      })),
      rejected: [...mps.rejected, ...slps.rejected, ...goodMps.rejected, ...goodSlps.rejected],
    };
  });
}

/** The root documents a site publishes (C1 "from the directory"), from an S4-accepted entry. */
export async function lookupRootChain(
  config: DirectoryConfig,
  siteCode: string,
): Promise<{ documents: string[]; writer: EntryWriter | undefined; rejected: RejectedEntry[] }> {
  checkSiteCode(siteCode);
  return withDirectorySession(config, async (session) => {
    const chains = await readRecords(session, 'rootChain', siteCode);
    const good = screenRecords(chains.records);
    const first = good.accepted[0];
    return {
      documents: first?.documents ?? [],
      writer: first?.writer,
      rejected: [...chains.rejected, ...good.rejected],
    };
  });
}
