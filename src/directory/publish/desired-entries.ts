/**
 * What a site system publishes, built from the signed documents it holds (DESIGN.md section 4):
 * the directory stores the root-signed envelopes themselves, so that a reader verifies them
 * against its root (C1, C2) instead of taking the directory's word.
 */
import {
  envelopePayloadBytes,
  formatIpAddress,
  parsePayload,
  readEnvelope,
  readNetworkBoundary,
  type NetworkBoundary,
} from '../../trust/index.js';
import { DirectoryConfigError } from '../lookup/directory-errors.js';
import {
  attributeNames as a,
  entryCn,
  entryDn,
  objectClassNames,
  type EntryKind,
} from '../lookup/vocabulary.js';

export interface PublishEntries {
  /** The site's root-signed site certificate (envelope JSON): publishes the site entry. */
  siteCertificate?: string;
  /** Subnets (CIDR) and ranges (`low-high`); ranges become boundary range entries. */
  boundaries?: readonly string[];
  /** Default: the site's own code; for a secondary site, its parent primary site. */
  assignedSiteCode?: string;
  /** The root documents the site holds, version 1 first. */
  rootChain?: readonly string[];
  /** Root-signed MP certificates; the entry's URLs are the certificate's. */
  managementPoints?: readonly { certificate: string }[];
  serverLocatorPoints?: readonly { name: string; siteCode: string; urls: readonly string[] }[];
}

export interface DesiredEntry {
  kind: EntryKind;
  siteCode: string;
  dn: string;
  objectClass: string;
  attributes: Record<string, string[]>;
}

function readSiteCertificate(envelope: string) {
  return parsePayload('site-certificate', envelopePayloadBytes(readEnvelope('site-certificate', envelope)));
}

function readMpCertificate(envelope: string) {
  return parsePayload('mp-certificate', envelopePayloadBytes(readEnvelope('mp-certificate', envelope)));
}

function entry(
  baseDn: string,
  kind: EntryKind,
  siteCode: string,
  cn: string,
  attributes: Record<string, string[]>,
) {
  return {
    kind,
    siteCode,
    dn: entryDn(baseDn, cn),
    objectClass: objectClassNames[kind],
    attributes: { cn: [cn], ...attributes },
  };
}

/** Clients in a secondary site's boundaries are assigned to its parent primary site. */
function assignedSiteOf(site: { siteCode: string; siteType: string; parentSiteCode: string | null }): string {
  return site.siteType === 'secondary' && site.parentSiteCode !== null ? site.parentSiteCode : site.siteCode;
}

/** The entries to publish; the site code of site-level entries comes from the site certificate. */
export function desiredEntries(baseDn: string, input: PublishEntries): DesiredEntry[] {
  const out: DesiredEntry[] = [];
  const site = input.siteCertificate === undefined ? undefined : readSiteCertificate(input.siteCertificate);
  const needsSite =
    input.boundaries !== undefined || input.rootChain !== undefined || input.assignedSiteCode !== undefined;
  if (needsSite && site === undefined) {
    throw new DirectoryConfigError(
      'Boundaries, the assigned site and the root chain are published with the site certificate.',
    );
  }
  if (site !== undefined && input.siteCertificate !== undefined) {
    const parsed = (input.boundaries ?? []).map((text): NetworkBoundary => {
      const reading = readNetworkBoundary(text);
      if ('problem' in reading) throw new DirectoryConfigError(`The boundary "${text}" ${reading.problem}.`);
      return reading.boundary;
    });
    const code = site.siteCode;
    out.push(
      entry(baseDn, 'site', code, entryCn.site(code), {
        [a.siteCode]: [code],
        [a.siteCertificate]: [input.siteCertificate],
        [a.siteKey]: [JSON.stringify(site.siteKey)],
        [a.assignedSiteCode]: [input.assignedSiteCode ?? assignedSiteOf(site)],
        [a.boundary]: parsed.filter((b) => b.kind === 'subnet').map((b) => b.text),
      }),
    );
    for (const range of parsed) {
      if (range.kind !== 'range') continue;
      const low = formatIpAddress(range.family, range.first);
      const high = formatIpAddress(range.family, range.last);
      out.push(
        entry(baseDn, 'boundaryRange', code, entryCn.boundaryRange(code, low, high), {
          [a.siteCode]: [code],
          [a.rangeLow]: [low],
          [a.rangeHigh]: [high],
        }),
      );
    }
    if (input.rootChain !== undefined && input.rootChain.length > 0) {
      for (const document of input.rootChain)
        parsePayload('root', envelopePayloadBytes(readEnvelope('root', document)));
      out.push(
        entry(baseDn, 'rootChain', code, entryCn.rootChain(code), {
          [a.siteCode]: [code],
          [a.rootDocument]: [...input.rootChain],
        }),
      );
    }
  }
  for (const { certificate } of input.managementPoints ?? []) {
    const mp = readMpCertificate(certificate);
    out.push(
      entry(baseDn, 'managementPoint', mp.siteCode, entryCn.managementPoint(mp.mpName), {
        [a.mpName]: [mp.mpName],
        [a.siteCode]: [mp.siteCode],
        [a.mpCertificate]: [certificate],
        [a.url]: [...mp.urls],
      }),
    );
  }
  for (const slp of input.serverLocatorPoints ?? []) {
    if (!/^[A-Z0-9]{3}$/.test(slp.siteCode) || slp.urls.length === 0) {
      throw new DirectoryConfigError(
        `Server locator point ${slp.name} needs a site code and at least one URL.`,
      );
    }
    out.push(
      entry(baseDn, 'serverLocatorPoint', slp.siteCode, entryCn.serverLocatorPoint(slp.name), {
        [a.siteCode]: [slp.siteCode],
        [a.url]: [...slp.urls],
      }),
    );
  }
  return out;
}
