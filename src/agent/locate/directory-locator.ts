/**
 * Locating a site and its management points in the directory (DESIGN.md sections 3 and 4): the
 * site by boundary (or by a given site code), then its management points by site code, read only
 * from entries whose writer is the system they name (S4, src/directory/lookup). The root comes from
 * the site's root chain entry (C1, `rootSource: directory`), or is anchored on a pinned fingerprint
 * that the directory's chain must then contain; MP certificates are verified against it (C2).
 */
import {
  lookupManagementPoints,
  lookupRootChain,
  lookupSiteForAddresses,
  type DirectoryConfig,
  type RejectedEntry,
} from '../../directory/lookup/index.js';
import {
  envelopePayloadBytes,
  fingerprintOf,
  followRotations,
  parsePayload,
  readEnvelope,
  trustRootFromPin,
  verifySiteCertificate,
  type TrustedRoot,
} from '../../trust/index.js';
import { LocatorError } from '../agent-errors.js';

export interface DirectoryManagementPoint {
  mpName: string;
  urls: string[];
  /** The key id of the MP key its (verified) certificate names. */
  keyId: string;
}

/** How a new agent anchors its root on what the directory holds (C1). */
export interface DirectoryAnchor {
  /** The site's root chain as the directory holds it. */
  chain: string[];
  /** The fingerprint the root is anchored on. */
  pin: string;
  /** `pinned` when the caller gave the fingerprint, `directory` when it was read from the chain. */
  source: 'pinned' | 'directory';
}

export interface DirectoryLocation {
  /** The site clients in the matched boundary are assigned to (a secondary site's parent). */
  siteCode: string;
  /** The boundary that matched, or null when the site code was given. */
  boundary: string | null;
  /** The root the MP certificates were verified against (C2); undefined without chain or held root. */
  root: TrustedRoot | undefined;
  /** Undefined when a held root was given, or when the directory holds no root chain for the site. */
  anchor: DirectoryAnchor | undefined;
  /** Verified against `root` when there is one (C2); in directory order. */
  managementPoints: DirectoryManagementPoint[];
  /** Entries ignored on the way (S4, malformed, or refused by C1/C2): the agent reports them. */
  rejected: RejectedEntry[];
}

export interface LocateInDirectoryOptions {
  /** The client's addresses (the site is located by boundary), or the site code to use. */
  target: { addresses: readonly string[] } | { siteCode: string };
  /** A root key fingerprint given at install (`--root-key`): the directory's chain must contain it. */
  pin?: string;
  /** The root an enrolled agent holds: followed through valid rotations the directory's chain offers. */
  held?: TrustedRoot;
  now: Date;
}

function rootVersion(document: string): number {
  return parsePayload('root', envelopePayloadBytes(readEnvelope('root', document))).version;
}

/**
 * C1 "read from the directory": the anchor is the lowest version of the chain the site server
 * published, pinned on the fingerprint of one of its own keys that signed it; later versions are
 * followed only as valid rotations from it (trustRootFromPin).
 */
export function anchorOnDirectoryChain(
  chain: readonly string[],
  now: Date,
): { root: TrustedRoot; pin: string } {
  const lowest = [...chain].sort((a, b) => rootVersion(a) - rootVersion(b))[0];
  if (lowest === undefined) throw new LocatorError('the directory holds no root document for this site');
  const keys = parsePayload('root', envelopePayloadBytes(readEnvelope('root', lowest))).keys;
  let firstError: unknown;
  for (const key of keys) {
    const pin = fingerprintOf(key.keyId);
    try {
      return { root: trustRootFromPin(chain, pin, now), pin };
    } catch (error) {
      firstError ??= error;
    }
  }
  throw firstError;
}

function rootFrom(
  chain: string[],
  options: LocateInDirectoryOptions,
): { root: TrustedRoot | undefined; anchor: DirectoryAnchor | undefined } {
  const { pin, held, now } = options;
  if (held !== undefined) {
    // C1: only valid rotations from the held root; a chain that does not lead on leaves it as it is.
    try {
      return { root: chain.length === 0 ? held : followRotations(held, chain, now), anchor: undefined };
    } catch {
      return { root: held, anchor: undefined };
    }
  }
  if (chain.length === 0) return { root: undefined, anchor: undefined };
  if (pin !== undefined) {
    return { root: trustRootFromPin(chain, pin, now), anchor: { chain, pin, source: 'pinned' } };
  }
  const anchored = anchorOnDirectoryChain(chain, now);
  return { root: anchored.root, anchor: { chain, pin: anchored.pin, source: 'directory' } };
}

function mpKeyIdOf(certificate: string): string {
  return parsePayload('mp-certificate', envelopePayloadBytes(readEnvelope('mp-certificate', certificate)))
    .mpKey.keyId;
}

/**
 * Finds the site and its management points in the directory: LocatorError when no site's boundary
 * holds the addresses; the list of management points may be empty (the caller decides).
 */
export async function locateInDirectory(
  config: DirectoryConfig,
  options: LocateInDirectoryOptions,
): Promise<DirectoryLocation> {
  const { now } = options;
  const rejected: RejectedEntry[] = [];
  let siteCode: string;
  let boundary: string | null = null;
  let trusted: ReturnType<typeof rootFrom>;
  if ('addresses' in options.target) {
    const found = await lookupSiteForAddresses(config, options.target.addresses);
    rejected.push(...found.rejected);
    const site = found.sites[0];
    if (site === undefined) {
      throw new LocatorError(
        `no site published in the directory has a boundary holding ${options.target.addresses.join(', ')}`,
      );
    }
    siteCode = site.assignedSiteCode;
    boundary = site.matchedBoundary;
    trusted = rootFrom(site.rootChain, options);
    // C2: the site entry's certificate chains to that root (the boundaries are covered by S4 only).
    if (trusted.root !== undefined)
      verifySiteCertificate(site.siteCertificate, trusted.root, now, site.siteCode);
  } else {
    siteCode = options.target.siteCode;
    const chain = await lookupRootChain(config, siteCode);
    rejected.push(...chain.rejected);
    trusted = rootFrom(chain.documents, options);
  }
  const mps = await lookupManagementPoints(
    config,
    siteCode,
    trusted.root === undefined ? {} : { verify: { root: trusted.root, now } },
  );
  rejected.push(...mps.rejected);
  const managementPoints = mps.managementPoints
    .filter((mp) => mp.urls.length > 0)
    .map((mp) => ({ mpName: mp.mpName, urls: mp.urls, keyId: mpKeyIdOf(mp.certificate) }));
  const seen = new Set<string>();
  return {
    siteCode,
    boundary,
    ...trusted,
    managementPoints,
    rejected: rejected.filter((r) => !seen.has(`${r.dn}\n${r.reason}`) && seen.add(`${r.dn}\n${r.reason}`)),
  };
}

/** The insertion strings of a `directory-entry-rejected` status message (status 11020). */
export function rejectionStrings(entry: RejectedEntry): string[] {
  return [
    entry.dn,
    entry.writer ?? 'unknown writer',
    entry.reason,
    ...(entry.code === undefined ? [] : [entry.code]),
  ];
}
