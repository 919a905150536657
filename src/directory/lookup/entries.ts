/**
 * Reads Steward entries from the System Management container into typed records, with the C6
 * limits applied before anything is parsed: at most `maxEntries` entries a search, a byte limit
 * on every value and a count limit on every multi-valued attribute. An entry that breaks a limit
 * or misses an attribute is returned as rejected, never half-read.
 */
import type { Entry } from 'ldapts';
import { escapeFilterValue } from './dn.js';
import { directoryFailure, ldapResult, resultCodeOf } from './ldap-failure.js';
import { DirectoryLimitError } from './directory-errors.js';
import { stringValues } from './root-dse.js';
import type { DirectorySession } from './session.js';
import { attributeNames as a, objectClassNames, systemManagementDn, type EntryKind } from './vocabulary.js';
import { writerResolver, writerSearchOptions, type EntryWriter } from './writer.js';

export const directoryLimits = {
  maxEntries: 1000,
  maxEnvelopeBytes: 64 * 1024,
  maxTextBytes: 2048,
  maxValues: 64,
} as const;

interface Common {
  dn: string;
  writer: EntryWriter | undefined;
}
export type SiteRecord = Common & {
  kind: 'site';
  siteCode: string;
  assignedSiteCode: string;
  siteCertificate: string;
  siteKey: string | undefined;
  boundaries: string[];
};
export type ManagementPointRecord = Common & {
  kind: 'managementPoint';
  mpName: string;
  siteCode: string;
  urls: string[];
  certificate: string;
};
export type ServerLocatorPointRecord = Common & {
  kind: 'serverLocatorPoint';
  name: string;
  siteCode: string;
  urls: string[];
};
export type BoundaryRangeRecord = Common & {
  kind: 'boundaryRange';
  siteCode: string;
  low: string;
  high: string;
};
export type RootChainRecord = Common & { kind: 'rootChain'; siteCode: string; documents: string[] };
export type DirectoryRecord =
  SiteRecord | ManagementPointRecord | ServerLocatorPointRecord | BoundaryRangeRecord | RootChainRecord;
export type RecordOf<K extends EntryKind> = Extract<DirectoryRecord, { kind: K }>;

/** An entry lookup ignored, and why (S4, C6, or content that disagrees with its signed document). */
export interface RejectedEntry {
  dn: string;
  kind: EntryKind;
  writer: string | undefined;
  reason: string;
  /** A stable error code when a signed document failed verification. */
  code?: string;
}

class Malformed extends Error {}

function values(entry: Entry, name: string, maxBytes: number, required: boolean): string[] {
  const found = stringValues(entry, name);
  if (found.length > directoryLimits.maxValues) throw new Malformed(`${name} has ${found.length} values`);
  if (required && found.length === 0) throw new Malformed(`${name} is missing`);
  for (const value of found) {
    if (Buffer.byteLength(value, 'utf8') > maxBytes)
      throw new Malformed(`a ${name} value exceeds ${maxBytes} bytes`);
  }
  return found;
}

function one(entry: Entry, name: string, maxBytes: number = directoryLimits.maxTextBytes): string {
  const found = values(entry, name, maxBytes, true);
  if (found.length !== 1) throw new Malformed(`${name} must have one value`);
  return found[0] ?? '';
}

function optional(
  entry: Entry,
  name: string,
  maxBytes: number = directoryLimits.maxTextBytes,
): string | undefined {
  return values(entry, name, maxBytes, false)[0];
}

const envelope = directoryLimits.maxEnvelopeBytes;
const text = directoryLimits.maxTextBytes;

const readers: { [K in EntryKind]: (entry: Entry, common: Common) => RecordOf<K> } = {
  site: (e, common) => ({
    ...common,
    kind: 'site',
    siteCode: one(e, a.siteCode),
    assignedSiteCode: optional(e, a.assignedSiteCode) ?? one(e, a.siteCode),
    siteCertificate: one(e, a.siteCertificate, envelope),
    siteKey: optional(e, a.siteKey, envelope),
    boundaries: values(e, a.boundary, text, false),
  }),
  managementPoint: (e, common) => ({
    ...common,
    kind: 'managementPoint',
    mpName: one(e, a.mpName),
    siteCode: one(e, a.siteCode),
    urls: values(e, a.url, text, false),
    certificate: one(e, a.mpCertificate, envelope),
  }),
  serverLocatorPoint: (e, common) => ({
    ...common,
    kind: 'serverLocatorPoint',
    name: one(e, 'cn'),
    siteCode: one(e, a.siteCode),
    urls: values(e, a.url, text, true),
  }),
  boundaryRange: (e, common) => ({
    ...common,
    kind: 'boundaryRange',
    siteCode: one(e, a.siteCode),
    low: one(e, a.rangeLow),
    high: one(e, a.rangeHigh),
  }),
  rootChain: (e, common) => ({
    ...common,
    kind: 'rootChain',
    siteCode: one(e, a.siteCode),
    documents: values(e, a.rootDocument, envelope, true),
  }),
};

const attributesOf: Record<EntryKind, string[]> = {
  site: ['cn', a.siteCode, a.assignedSiteCode, a.siteCertificate, a.siteKey, a.boundary],
  managementPoint: ['cn', a.mpName, a.siteCode, a.url, a.mpCertificate],
  serverLocatorPoint: ['cn', a.siteCode, a.url],
  boundaryRange: ['cn', a.siteCode, a.rangeLow, a.rangeHigh],
  rootChain: ['cn', a.siteCode, a.rootDocument],
};

/** Entries of one kind (optionally of one site) one level below the System Management container. */
export async function readRecords<K extends EntryKind>(
  session: DirectorySession,
  kind: K,
  siteCode?: string,
): Promise<{ records: RecordOf<K>[]; rejected: RejectedEntry[] }> {
  const writerOptions = writerSearchOptions(session);
  const siteFilter = siteCode === undefined ? '' : `(${a.siteCode}=${escapeFilterValue(siteCode)})`;
  let entries: Entry[];
  try {
    const result = await session.client.search(
      systemManagementDn(session.baseDn),
      {
        scope: 'one',
        filter: `(&(objectClass=${objectClassNames[kind]})${siteFilter})`,
        attributes: [...attributesOf[kind], ...writerOptions.attributes],
        explicitBufferAttributes: writerOptions.buffers,
        sizeLimit: directoryLimits.maxEntries,
      },
      writerOptions.controls,
    );
    entries = result.searchEntries;
  } catch (error) {
    if (resultCodeOf(error) === ldapResult.noSuchObject) return { records: [], rejected: [] };
    if (resultCodeOf(error) === 4) {
      throw new DirectoryLimitError(
        `The directory holds more than ${directoryLimits.maxEntries} ${kind} entries; refusing to read them all.`,
      );
    }
    throw directoryFailure(error, `search for ${kind} entries`, session.url);
  }
  const writerOf = writerResolver(session);
  const records: RecordOf<K>[] = [];
  const rejected: RejectedEntry[] = [];
  for (const entry of entries) {
    const writer = await writerOf(entry);
    try {
      records.push(readers[kind](entry, { dn: entry.dn, writer }));
    } catch (error) {
      if (!(error instanceof Malformed)) throw error;
      rejected.push({ dn: entry.dn, kind, writer: writer?.dn, reason: `malformed entry: ${error.message}` });
    }
  }
  return { records, rejected };
}
