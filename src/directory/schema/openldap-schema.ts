/**
 * The schema extension as one olcSchemaConfig entry for OpenLDAP's cn=config: load it with
 * `ldapadd` bound as the config administrator (or `-Y EXTERNAL -H ldapi:///` as root), or with
 * `slapadd -n0` before slapd first starts.
 */
import {
  attributeDefinitions,
  attributeOid,
  classDefinitions,
  classOid,
  type AttributeSyntax,
} from './definitions.js';

const syntaxes: Record<AttributeSyntax, string> = {
  string:
    'EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256}',
  ia5: 'EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{2048}',
  envelope: 'EQUALITY caseExactMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{65536}',
};

function list(names: readonly string[]): string {
  return names.length === 1 ? (names[0] ?? '') : `( ${names.join(' $ ')} )`;
}

export function openLdapSchema(arc: string): string {
  const lines = [
    `# Steward directory schema (OpenLDAP cn=config). OID arc ${arc}.`,
    '# Attributes are <arc>.1.N, object classes <arc>.2.N.',
    'dn: cn=steward,cn=schema,cn=config',
    'objectClass: olcSchemaConfig',
    'cn: steward',
  ];
  for (const attribute of attributeDefinitions) {
    lines.push(
      `olcAttributeTypes: ( ${attributeOid(arc, attribute)} NAME '${attribute.name}' ` +
        `DESC '${attribute.description}' ${syntaxes[attribute.syntax]}` +
        `${attribute.singleValued ? ' SINGLE-VALUE' : ''} )`,
    );
  }
  for (const objectClass of classDefinitions) {
    const may = objectClass.may.length === 0 ? '' : ` MAY ${list(objectClass.may)}`;
    lines.push(
      `olcObjectClasses: ( ${classOid(arc, objectClass)} NAME '${objectClass.name}' ` +
        `DESC '${objectClass.description}' SUP top STRUCTURAL MUST ${list(objectClass.must)}${may} )`,
    );
  }
  return `${lines.join('\n')}\n`;
}
