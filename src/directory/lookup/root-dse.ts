/**
 * The root DSE tells what kind of server answers (Active Directory and Samba announce the AD
 * capability OID) and where its data and schema live.
 */
import type { Client, Entry } from 'ldapts';
import { directoryFailure } from './ldap-failure.js';

export type DirectoryFlavor = 'openldap' | 'ad';

/** LDAP_CAP_ACTIVE_DIRECTORY_OID, in supportedCapabilities of AD and Samba AD domain controllers. */
export const activeDirectoryCapability = '1.2.840.113556.1.4.800';

export interface RootDse {
  flavor: DirectoryFlavor;
  defaultBaseDn: string | undefined;
  schemaDn: string | undefined;
}

export function stringValues(entry: Entry, name: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : entry[key];
  if (value === undefined) return [];
  const values = Array.isArray(value) ? value : [value];
  return values.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
}

export async function readRootDse(client: Client, url: string): Promise<RootDse> {
  let entry: Entry | undefined;
  try {
    const result = await client.search('', {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['namingContexts', 'defaultNamingContext', 'schemaNamingContext', 'supportedCapabilities'],
    });
    entry = result.searchEntries[0];
  } catch (error) {
    throw directoryFailure(error, 'read its root DSE', url);
  }
  if (entry === undefined) return { flavor: 'openldap', defaultBaseDn: undefined, schemaDn: undefined };
  const capabilities = stringValues(entry, 'supportedCapabilities');
  const flavor = capabilities.includes(activeDirectoryCapability) ? 'ad' : 'openldap';
  const contexts = stringValues(entry, 'namingContexts').filter((dn) => !/^cn=config$/i.test(dn));
  return {
    flavor,
    defaultBaseDn: stringValues(entry, 'defaultNamingContext')[0] ?? contexts[0],
    schemaDn: stringValues(entry, 'schemaNamingContext')[0],
  };
}
