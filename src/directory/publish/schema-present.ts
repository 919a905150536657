/** Publishing needs the schema extension; say so plainly when it is missing (ERR_DIRECTORY_SCHEMA). */
import { DirectorySchemaError } from '../lookup/directory-errors.js';
import { directoryFailure } from '../lookup/ldap-failure.js';
import { stringValues } from '../lookup/root-dse.js';
import type { DirectorySession } from '../lookup/session.js';
import { objectClassNames } from '../lookup/vocabulary.js';

export async function schemaInstalled(session: DirectorySession): Promise<boolean> {
  const wanted = Object.values(objectClassNames).filter(
    (name) => session.flavor !== 'ad' || name !== objectClassNames.container,
  );
  try {
    if (session.flavor === 'ad' && session.schemaDn !== undefined) {
      const filter = `(|${wanted.map((name) => `(lDAPDisplayName=${name})`).join('')})`;
      const { searchEntries } = await session.client.search(session.schemaDn, {
        scope: 'one',
        filter,
        attributes: ['lDAPDisplayName'],
      });
      return searchEntries.length === wanted.length;
    }
    const { searchEntries } = await session.client.search('cn=Subschema', {
      scope: 'base',
      filter: '(objectClass=subschema)',
      attributes: ['objectClasses'],
    });
    const known = stringValues(searchEntries[0] ?? { dn: '' }, 'objectClasses')
      .join('\n')
      .toLowerCase();
    return wanted.every((name) => known.includes(`'${name.toLowerCase()}'`));
  } catch (error) {
    throw directoryFailure(error, 'read its schema', session.url);
  }
}

export async function requireSchema(session: DirectorySession): Promise<void> {
  if (!(await schemaInstalled(session))) {
    throw new DirectorySchemaError(
      `The directory at ${session.url} lacks the Steward schema extension; the directory administrator ` +
        'loads it from `steward directory schema --format openldap|ad` (docs/directory.md).',
    );
  }
}
