/** The Steward entries already in the container, with their raw attributes and their writer. */
import type { Entry } from 'ldapts';
import { directoryFailure, ldapResult, resultCodeOf } from '../lookup/ldap-failure.js';
import { directoryLimits } from '../lookup/entries.js';
import { DirectoryLimitError } from '../lookup/directory-errors.js';
import { stringValues } from '../lookup/root-dse.js';
import type { DirectorySession } from '../lookup/session.js';
import {
  attributeNames,
  objectClassNames,
  systemManagementDn,
  type EntryKind,
} from '../lookup/vocabulary.js';
import { writerResolver, writerSearchOptions, type EntryWriter } from '../lookup/writer.js';

export interface ExistingEntry {
  dn: string;
  kind: EntryKind;
  siteCode: string | undefined;
  /** Attribute values by lower-case attribute name. */
  attributes: Map<string, string[]>;
  writer: EntryWriter | undefined;
}

const kinds = Object.keys(objectClassNames).filter((kind) => kind !== 'container') as EntryKind[];

function kindOf(entry: Entry): EntryKind | undefined {
  const classes = stringValues(entry, 'objectClass').map((name) => name.toLowerCase());
  return kinds.find((kind) => classes.includes(objectClassNames[kind].toLowerCase()));
}

export async function readExistingEntries(session: DirectorySession): Promise<ExistingEntry[]> {
  const writerOptions = writerSearchOptions(session);
  const filter = `(|${kinds.map((kind) => `(objectClass=${objectClassNames[kind]})`).join('')})`;
  let entries: Entry[];
  try {
    const result = await session.client.search(
      systemManagementDn(session.baseDn),
      {
        scope: 'one',
        filter,
        attributes: ['objectClass', 'cn', ...Object.values(attributeNames), ...writerOptions.attributes],
        explicitBufferAttributes: writerOptions.buffers,
        sizeLimit: directoryLimits.maxEntries,
      },
      writerOptions.controls,
    );
    entries = result.searchEntries;
  } catch (error) {
    if (resultCodeOf(error) === ldapResult.noSuchObject) return [];
    if (resultCodeOf(error) === 4) {
      throw new DirectoryLimitError(
        `The System Management container holds more than ${directoryLimits.maxEntries} entries.`,
      );
    }
    throw directoryFailure(error, 'read the System Management container', session.url);
  }
  const writerOf = writerResolver(session);
  const out: ExistingEntry[] = [];
  for (const entry of entries) {
    const kind = kindOf(entry);
    if (kind === undefined) continue;
    const attributes = new Map<string, string[]>();
    for (const name of ['cn', ...Object.values(attributeNames)]) {
      const values = stringValues(entry, name);
      if (values.length > 0) attributes.set(name.toLowerCase(), values);
    }
    out.push({
      dn: entry.dn,
      kind,
      siteCode: stringValues(entry, attributeNames.siteCode)[0],
      attributes,
      writer: await writerOf(entry),
    });
  }
  return out;
}
