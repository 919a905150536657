/**
 * The System Management container, `cn=System Management,cn=System,<base DN>`: created by the
 * directory administrator (docs/directory.md), or by the site system when its account may.
 */
import { directoryFailure, isDenied, ldapResult, resultCodeOf } from '../lookup/ldap-failure.js';
import { DirectoryContainerError } from '../lookup/directory-errors.js';
import type { DirectorySession } from '../lookup/session.js';
import { objectClassNames, systemDn, systemManagementDn } from '../lookup/vocabulary.js';

async function exists(session: DirectorySession, dn: string): Promise<boolean> {
  try {
    await session.client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['1.1'] });
    return true;
  } catch (error) {
    if (resultCodeOf(error) === ldapResult.noSuchObject) return false;
    throw directoryFailure(error, `read ${dn}`, session.url);
  }
}

async function create(session: DirectorySession, dn: string, cn: string): Promise<void> {
  const objectClass = session.flavor === 'ad' ? 'container' : objectClassNames.container;
  try {
    await session.client.add(dn, { objectClass: [objectClass], cn: [cn] });
  } catch (error) {
    if (resultCodeOf(error) === ldapResult.alreadyExists) return;
    if (isDenied(error)) {
      throw new DirectoryContainerError(
        `${dn} does not exist and ${session.bindDn ?? 'an anonymous session'} may not create it; ` +
          'ask the directory administrator to create it and set its access rules (docs/directory.md).',
        { cause: error },
      );
    }
    throw directoryFailure(error, `create ${dn}`, session.url);
  }
}

/** Makes sure the container exists; returns the DNs it created. */
export async function ensureSystemManagementContainer(session: DirectorySession): Promise<string[]> {
  const container = systemManagementDn(session.baseDn);
  if (await exists(session, container)) return [];
  const created: string[] = [];
  const system = systemDn(session.baseDn);
  if (!(await exists(session, system))) {
    await create(session, system, 'System');
    created.push(system);
  }
  await create(session, container, 'System Management');
  created.push(container);
  return created;
}
