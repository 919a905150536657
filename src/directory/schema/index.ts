/** `steward directory schema`: the schema extension as LDIF for OpenLDAP or Active Directory. */
import { DirectoryConfigError } from '../lookup/directory-errors.js';
import { adSchema } from './ad-schema.js';
import { defaultSchemaArc } from './definitions.js';
import { openLdapSchema } from './openldap-schema.js';

export { defaultSchemaArc, attributeDefinitions, classDefinitions } from './definitions.js';
export { adSchemaPlaceholder } from './ad-schema.js';

export type SchemaFormat = 'openldap' | 'ad';

export interface SchemaOptions {
  /** The OID arc; default defaultSchemaArc (documentation-only: substitute your own). */
  arc?: string;
  /** AD only: the schema partition DN; default the ldifde placeholder `CN=Schema,CN=Configuration,DC=X`. */
  schemaDn?: string;
}

/** The schema extension as LDIF (ERR_DIRECTORY_CONFIG for a malformed arc). */
export function directorySchema(format: SchemaFormat, options: SchemaOptions = {}): string {
  const arc = options.arc ?? defaultSchemaArc;
  if (!/^[0-2](\.(0|[1-9][0-9]*)){2,30}$/.test(arc)) {
    throw new DirectoryConfigError(`"${arc}" is not a dotted OID arc like ${defaultSchemaArc}.`);
  }
  return format === 'openldap' ? openLdapSchema(arc) : adSchema(arc, options.schemaDn);
}
