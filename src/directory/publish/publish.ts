/**
 * `steward directory publish` (DESIGN.md section 4): the site server, or a management point on its
 * own host, binds as its own account and creates or updates ONLY the entries it wrote itself (S4).
 * An entry of the same name written by another account is left alone and reported
 * (ERR_DIRECTORY_CONFLICT); entries this account wrote that are no longer wanted are removed.
 */
import { Attribute, Change } from 'ldapts';
import { normalizeDn } from '../lookup/dn.js';
import { DirectoryConflictError } from '../lookup/directory-errors.js';
import type { DirectoryConfig } from '../lookup/directory-config.js';
import { directoryFailure } from '../lookup/ldap-failure.js';
import { withDirectorySession, type DirectorySession } from '../lookup/session.js';
import { systemManagementDn, type EntryKind } from '../lookup/vocabulary.js';
import { selfIdentity, type EntryWriter } from '../lookup/writer.js';
import { ensureSystemManagementContainer } from './container.js';
import { desiredEntries, type DesiredEntry, type PublishEntries } from './desired-entries.js';
import { readExistingEntries, type ExistingEntry } from './existing-entries.js';
import { requireSchema } from './schema-present.js';

export interface PublishResult {
  /** The account the entries were written as. */
  writer: string;
  container: string;
  createdContainers: string[];
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
}

/** Written by this account, and (AD) with its security descriptor as created: see replication-metadata.ts. */
function isMine(entry: ExistingEntry, self: EntryWriter): boolean {
  const writer = entry.writer;
  return writer !== undefined && writer.id === self.id && (writer.descriptorWrites ?? 1) <= 1;
}

function changesFor(desired: DesiredEntry, existing: ExistingEntry): Change[] {
  const changes: Change[] = [];
  for (const [name, values] of Object.entries(desired.attributes)) {
    if (name === 'cn') continue;
    const current = existing.attributes.get(name.toLowerCase()) ?? [];
    const same =
      current.length === values.length && [...current].sort().join('\n') === [...values].sort().join('\n');
    if (same) continue;
    changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: name, values }) }));
  }
  return changes;
}

async function write(session: DirectorySession, action: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    throw directoryFailure(error, action, session.url);
  }
}

/** Kinds whose entries of the published sites this call manages (and may remove when stale). */
function managedKinds(input: PublishEntries): Set<EntryKind> {
  const kinds = new Set<EntryKind>();
  if (input.siteCertificate !== undefined) kinds.add('site');
  if (input.boundaries !== undefined) kinds.add('boundaryRange');
  if (input.rootChain !== undefined) kinds.add('rootChain');
  if (input.managementPoints !== undefined) kinds.add('managementPoint');
  if (input.serverLocatorPoints !== undefined) kinds.add('serverLocatorPoint');
  return kinds;
}

export async function publishSiteEntries(
  config: DirectoryConfig,
  input: PublishEntries,
): Promise<PublishResult> {
  return withDirectorySession(config, async (session) => {
    const desired = desiredEntries(session.baseDn, input);
    await requireSchema(session);
    const createdContainers = await ensureSystemManagementContainer(session);
    const self = await selfIdentity(session);
    const existing = new Map((await readExistingEntries(session)).map((e) => [normalizeDn(e.dn), e]));
    const result: PublishResult = {
      writer: self.dn,
      container: systemManagementDn(session.baseDn),
      createdContainers,
      created: [],
      updated: [],
      unchanged: [],
      removed: [],
    };
    const conflicts: string[] = [];
    for (const entry of desired) {
      const current = existing.get(normalizeDn(entry.dn));
      if (current === undefined) {
        const attributes = Object.fromEntries(
          Object.entries(entry.attributes).filter(([, v]) => v.length > 0),
        );
        await write(session, `add ${entry.dn}`, () =>
          session.client.add(entry.dn, { objectClass: [entry.objectClass], ...attributes }),
        );
        result.created.push(entry.dn);
      } else if (!isMine(current, self)) {
        conflicts.push(`${entry.dn} (written by ${current.writer?.dn ?? 'an unknown account'})`);
      } else {
        const changes = changesFor(entry, current);
        if (changes.length === 0) result.unchanged.push(entry.dn);
        else {
          await write(session, `modify ${entry.dn}`, () => session.client.modify(entry.dn, changes));
          result.updated.push(entry.dn);
        }
      }
    }
    const wanted = new Set(desired.map((entry) => normalizeDn(entry.dn)));
    const kinds = managedKinds(input);
    const sites = new Set(desired.map((entry) => entry.siteCode));
    for (const [dn, entry] of existing) {
      if (wanted.has(dn) || !isMine(entry, self) || !kinds.has(entry.kind)) continue;
      if (entry.siteCode === undefined || !sites.has(entry.siteCode)) continue;
      await write(session, `delete ${entry.dn}`, () => session.client.del(entry.dn));
      result.removed.push(entry.dn);
    }
    if (conflicts.length > 0) {
      throw new DirectoryConflictError(
        `Left ${conflicts.length} entr${conflicts.length === 1 ? 'y' : 'ies'} written by another account untouched: ` +
          `${conflicts.join('; ')}. Published ${result.created.length + result.updated.length + result.unchanged.length} ` +
          'of its own; the directory administrator should remove the others.',
      );
    }
    return result;
  });
}

/** Removes every entry this account wrote (of one site, when given): the system is decommissioned. */
export async function unpublishSiteEntries(
  config: DirectoryConfig,
  options: { siteCode?: string } = {},
): Promise<{ writer: string; removed: string[] }> {
  return withDirectorySession(config, async (session) => {
    const self = await selfIdentity(session);
    const removed: string[] = [];
    for (const entry of await readExistingEntries(session)) {
      if (!isMine(entry, self)) continue;
      if (options.siteCode !== undefined && entry.siteCode !== options.siteCode) continue;
      await write(session, `delete ${entry.dn}`, () => session.client.del(entry.dn));
      removed.push(entry.dn);
    }
    return { writer: self.dn, removed };
  });
}
