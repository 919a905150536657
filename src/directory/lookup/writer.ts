/**
 * Who wrote an entry (S4), as the directory itself records it: OpenLDAP's `creatorsName` (set by
 * the server; an add that supplies it is refused) and `modifiersName`; Active Directory's owner in
 * nTSecurityDescriptor, which is the creating account for accounts outside Domain Admins. The
 * writer-chosen `owner` or `managedBy` attributes are never used.
 */
import { EqualityFilter, type Entry, type Filter } from 'ldapts';
import { escapeFilterValue, firstRdnValue, normalizeDn } from './dn.js';
import { directoryFailure } from './ldap-failure.js';
import { stringValues } from './root-dse.js';
import { attributeVersion, ntSecurityDescriptorAttid } from './replication-metadata.js';
import { ownerSidOf, SdFlagsControl, sidToBytes, sidToString } from './security-descriptor.js';
import type { DirectorySession } from './session.js';

export interface EntryWriter {
  /** Comparable identity: the normalised DN (OpenLDAP) or the SID (Active Directory). */
  id: string;
  /** The writer's DN where known, else its SID. */
  dn: string;
  /** The account name: the DN's first RDN value, or sAMAccountName without a trailing `$`. */
  name: string;
  source: 'creatorsName' | 'owner';
  /** OpenLDAP: the last modifier, when it differs from the creator. */
  modifiedBy?: string;
  /** Active Directory: writes to the security descriptor; above 1 it was changed after creation. */
  descriptorWrites?: number;
}

/** What to ask for in a search so that writerOf can answer, per server kind. */
export function writerSearchOptions(session: DirectorySession) {
  return session.flavor === 'ad'
    ? {
        attributes: ['nTSecurityDescriptor', 'replPropertyMetaData'],
        buffers: ['nTSecurityDescriptor', 'replPropertyMetaData'],
        controls: [new SdFlagsControl()],
      }
    : { attributes: ['creatorsName', 'modifiersName'], buffers: [] as string[], controls: [] };
}

export type WriterResolver = (entry: Entry) => Promise<EntryWriter | undefined>;

/** A resolver with a per-session cache of SID lookups. */
export function writerResolver(session: DirectorySession): WriterResolver {
  const accounts = new Map<string, Promise<{ dn: string; name: string } | undefined>>();
  return async (entry) => {
    if (session.flavor !== 'ad') return openLdapWriter(entry);
    const descriptor = bufferValue(entry, 'nTSecurityDescriptor');
    if (descriptor === undefined) return undefined;
    const sid = ownerSidOf(descriptor);
    if (sid === undefined) return undefined;
    let account = accounts.get(sid);
    if (account === undefined) {
      account = accountOfSid(session, sid);
      accounts.set(sid, account);
    }
    const found = await account;
    const writer: EntryWriter = { id: sid, dn: found?.dn ?? sid, name: found?.name ?? sid, source: 'owner' };
    const metadata = bufferValue(entry, 'replPropertyMetaData');
    const writes = metadata === undefined ? undefined : attributeVersion(metadata, ntSecurityDescriptorAttid);
    if (writes !== undefined) writer.descriptorWrites = writes;
    return writer;
  };
}

function bufferValue(entry: Entry, name: string): Buffer | undefined {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  const first = Array.isArray(value) ? value[0] : value;
  return Buffer.isBuffer(first) ? first : undefined;
}

function openLdapWriter(entry: Entry): EntryWriter | undefined {
  const creator = stringValues(entry, 'creatorsName')[0];
  if (creator === undefined) return undefined;
  const modifier = stringValues(entry, 'modifiersName')[0];
  const writer: EntryWriter = {
    id: normalizeDn(creator),
    dn: creator,
    name: firstRdnValue(creator) ?? creator,
    source: 'creatorsName',
  };
  if (modifier !== undefined && normalizeDn(modifier) !== writer.id) writer.modifiedBy = modifier;
  return writer;
}

async function findAccount(session: DirectorySession, filter: string | Filter) {
  try {
    const { searchEntries } = await session.client.search(session.baseDn, {
      scope: 'sub',
      filter,
      attributes: ['sAMAccountName', 'objectSid'],
      explicitBufferAttributes: ['objectSid'],
      sizeLimit: 2,
    });
    return searchEntries.length === 1 ? searchEntries[0] : undefined;
  } catch (error) {
    throw directoryFailure(error, 'look up an account', session.url);
  }
}

function accountName(entry: Entry): string {
  const sam = stringValues(entry, 'sAMAccountName')[0];
  return sam === undefined ? (firstRdnValue(entry.dn) ?? entry.dn) : sam.replace(/\$$/, '');
}

async function accountOfSid(session: DirectorySession, sid: string) {
  const bytes = sidToBytes(sid);
  if (bytes === undefined) return undefined;
  const entry = await findAccount(session, new EqualityFilter({ attribute: 'objectSid', value: bytes }));
  return entry === undefined ? undefined : { dn: entry.dn, name: accountName(entry) };
}

/** The bound account as a writer identity, to tell "my entries" from others'. */
export async function selfIdentity(session: DirectorySession): Promise<EntryWriter> {
  const bindDn = session.bindDn;
  if (bindDn === null) return { id: '', dn: '', name: 'anonymous', source: 'creatorsName' };
  if (session.flavor !== 'ad') {
    return {
      id: normalizeDn(bindDn),
      dn: bindDn,
      name: firstRdnValue(bindDn) ?? bindDn,
      source: 'creatorsName',
    };
  }
  // A DN, a user principal name (user@domain, implicit when the attribute is unset) or DOMAIN\user.
  const local = bindDn.includes('@') ? bindDn.slice(0, bindDn.lastIndexOf('@')) : bindDn.replace(/^.*\\/, '');
  const filter = bindDn.includes('=')
    ? `(distinguishedName=${escapeFilterValue(bindDn)})`
    : bindDn.includes('@')
      ? `(|(userPrincipalName=${escapeFilterValue(bindDn)})(sAMAccountName=${escapeFilterValue(local)}))`
      : `(sAMAccountName=${escapeFilterValue(local)})`;
  const entry = await findAccount(session, filter);
  const sidBytes = entry === undefined ? undefined : bufferValue(entry, 'objectSid');
  const sid = sidBytes === undefined ? undefined : sidToString(sidBytes);
  if (entry === undefined || sid === undefined) {
    return { id: `unresolved:${bindDn}`, dn: bindDn, name: bindDn, source: 'owner' };
  }
  return { id: sid, dn: entry.dn, name: accountName(entry), source: 'owner' };
}
