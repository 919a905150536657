/**
 * Directory approval (S1, docs/directory.md "Approving clients by machine account"): a registering
 * client is approved when the directory holds an enabled machine account for the host name it
 * registers. The matching rule, case-insensitive:
 *
 * - a full name (with a dot) must equal the account's DNS name: `dNSHostName` of a `computer` on
 *   Active Directory; the `cn` of a `device` entry on OpenLDAP;
 * - a short name must equal the account name: `sAMAccountName` without its trailing `$` of a
 *   `computer` on Active Directory; on OpenLDAP the `cn` of a `device` entry, or `uid` without its
 *   trailing `$` (Samba-style machine accounts);
 * - Active Directory accounts that are disabled (userAccountControl bit 2) do not count.
 *
 * The search runs with the site's own directory account, under `computersDn` or the base DN.
 */
import {
  directoryConfigOf,
  directoryFailure,
  escapeFilterValue,
  withDirectorySession,
  type DirectoryFlavor,
} from '../../directory/lookup/index.js';
import type { SiteDirectorySettings } from './site-directory-settings.js';

const hostLabel = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** The LDAP filter for `hostname`, or undefined when the name cannot be a machine's name. */
export function machineAccountFilter(hostname: string, flavor: DirectoryFlavor): string | undefined {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((label) => hostLabel.test(label))) return undefined;
  const full = labels.length > 1;
  const value = escapeFilterValue(name);
  if (flavor === 'ad') {
    const disabled = '(userAccountControl:1.2.840.113556.1.4.803:=2)';
    const match = full ? `(dNSHostName=${value})` : `(sAMAccountName=${value}$)`;
    return `(&(objectCategory=computer)${match}(!${disabled}))`;
  }
  return full
    ? `(&(objectClass=device)(cn=${value}))`
    : `(|(&(objectClass=device)(cn=${value}))(uid=${value}$))`;
}

/** The DN of the machine account that vouches for `hostname`, or undefined when there is none. */
export async function findMachineAccount(
  settings: SiteDirectorySettings,
  hostname: string,
): Promise<string | undefined> {
  return withDirectorySession(directoryConfigOf(settings), async (session) => {
    const filter = machineAccountFilter(hostname, session.flavor);
    if (filter === undefined) return undefined;
    try {
      const { searchEntries } = await session.client.search(settings.computersDn ?? session.baseDn, {
        scope: 'sub',
        filter,
        attributes: ['1.1'],
        sizeLimit: 2,
      });
      // Two accounts answering one name is a question for the administrator, not an approval.
      return searchEntries.length === 1 ? searchEntries[0]?.dn : undefined;
    } catch (error) {
      throw directoryFailure(error, `search for the machine account of ${hostname}`, session.url);
    }
  });
}
