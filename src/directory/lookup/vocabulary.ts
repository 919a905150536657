/**
 * The words Steward writes into a directory (DESIGN.md section 4): attribute and object class
 * names of the schema extension, the System Management container, and how entries are named.
 * The OIDs behind these names live in src/directory/schema/oids.ts.
 */
import { sha256Hex } from '../../trust/index.js';
import { escapeRdnValue } from './dn.js';

export const attributeNames = {
  siteCode: 'stewardSiteCode',
  siteKey: 'stewardSiteKey',
  boundary: 'stewardBoundary',
  assignedSiteCode: 'stewardAssignedSiteCode',
  siteCertificate: 'stewardSiteCertificate',
  mpName: 'stewardMpName',
  url: 'stewardUrl',
  mpCertificate: 'stewardMpCertificate',
  rangeLow: 'stewardRangeLow',
  rangeHigh: 'stewardRangeHigh',
  rootDocument: 'stewardRootDocument',
} as const;

export const objectClassNames = {
  site: 'stewardSite',
  managementPoint: 'stewardManagementPoint',
  serverLocatorPoint: 'stewardServerLocatorPoint',
  boundaryRange: 'stewardBoundaryRange',
  rootChain: 'stewardRootChain',
  /** OpenLDAP only: a plain named container (Active Directory has its own `container` class). */
  container: 'stewardContainer',
} as const;

export type EntryKind = 'site' | 'managementPoint' | 'serverLocatorPoint' | 'boundaryRange' | 'rootChain';

/** `cn=System Management,cn=System,<base DN>`, where every Steward entry lives (one level below). */
export function systemManagementDn(baseDn: string): string {
  return `cn=System Management,${systemDn(baseDn)}`;
}

export function systemDn(baseDn: string): string {
  return `cn=System,${baseDn}`;
}

/** Active Directory limits cn to 64 characters; longer names keep a prefix and a hash. */
const maxCnLength = 64;

function cnOf(prefix: string, name: string): string {
  const full = `${prefix}${name}`;
  if (full.length <= maxCnLength) return full;
  return `${prefix}${name.slice(0, maxCnLength - prefix.length - 17)}-${sha256Hex(name).slice(0, 16)}`;
}

/** The cn of each kind of entry: fixed by what it describes, so that publishing is repeatable. */
export const entryCn = {
  site: (siteCode: string) => cnOf('Steward-Site-', siteCode),
  rootChain: (siteCode: string) => cnOf('Steward-Root-', siteCode),
  managementPoint: (mpName: string) => cnOf('Steward-MP-', mpName),
  serverLocatorPoint: (name: string) => cnOf('Steward-SLP-', name),
  boundaryRange: (siteCode: string, low: string, high: string) =>
    cnOf(`Steward-Range-${siteCode}-`, `${low}-${high}`),
} as const;

/** The DN of an entry with the given cn in the System Management container. */
export function entryDn(baseDn: string, cn: string): string {
  return `cn=${escapeRdnValue(cn)},${systemManagementDn(baseDn)}`;
}

/**
 * S4: the account name of the site server that publishes a site's entries. A site system's
 * directory account is named after the system: `steward-<site code>` for a site server, the MP
 * name for a management point on its own host (docs/directory.md).
 */
export function siteServerAccountName(siteCode: string): string {
  return `steward-${siteCode}`;
}
