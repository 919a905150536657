/**
 * The schema extension for Active Directory (and Samba AD): attributeSchema and classSchema objects
 * in the schema partition, each followed by schemaUpdateNow so that the classes can name the new
 * attributes. Import it as a member of Schema Admins on the schema master:
 * `ldifde -i -f steward.ldf -c "CN=Schema,CN=Configuration,DC=X" #schemaNamingContext`, or with
 * `ldapmodify` after replacing the placeholder DN.
 */
import {
  attributeDefinitions,
  attributeOid,
  classDefinitions,
  classOid,
  type AttributeSyntax,
} from './definitions.js';

/** The placeholder schema DN that ldifde's `-c ... #schemaNamingContext` replaces. */
export const adSchemaPlaceholder = 'CN=Schema,CN=Configuration,DC=X';

const syntaxes: Record<AttributeSyntax, { attributeSyntax: string; oMSyntax: number; rangeUpper: number }> = {
  string: { attributeSyntax: '2.5.5.12', oMSyntax: 64, rangeUpper: 256 },
  ia5: { attributeSyntax: '2.5.5.5', oMSyntax: 22, rangeUpper: 2048 },
  envelope: { attributeSyntax: '2.5.5.12', oMSyntax: 64, rangeUpper: 65536 },
};

const updateSchemaNow = ['dn:', 'changetype: modify', 'add: schemaUpdateNow', 'schemaUpdateNow: 1', '-'];

export function adSchema(arc: string, schemaDn: string = adSchemaPlaceholder): string {
  const blocks: string[][] = [
    [
      `# Steward directory schema (Active Directory). OID arc ${arc}.`,
      '# Attributes are <arc>.1.N, object classes <arc>.2.N.',
    ],
  ];
  for (const attribute of attributeDefinitions) {
    const syntax = syntaxes[attribute.syntax];
    blocks.push([
      `dn: CN=${attribute.name},${schemaDn}`,
      'changetype: add',
      'objectClass: top',
      'objectClass: attributeSchema',
      `cn: ${attribute.name}`,
      `attributeID: ${attributeOid(arc, attribute)}`,
      `lDAPDisplayName: ${attribute.name}`,
      `adminDescription: ${attribute.description}`,
      `attributeSyntax: ${syntax.attributeSyntax}`,
      `oMSyntax: ${syntax.oMSyntax}`,
      `rangeUpper: ${syntax.rangeUpper}`,
      `isSingleValued: ${attribute.singleValued ? 'TRUE' : 'FALSE'}`,
      `searchFlags: ${attribute.indexed ? 1 : 0}`,
    ]);
  }
  blocks.push(updateSchemaNow);
  for (const objectClass of classDefinitions.filter((definition) => definition.openLdapOnly !== true)) {
    blocks.push([
      `dn: CN=${objectClass.name},${schemaDn}`,
      'changetype: add',
      'objectClass: top',
      'objectClass: classSchema',
      `cn: ${objectClass.name}`,
      `governsID: ${classOid(arc, objectClass)}`,
      `lDAPDisplayName: ${objectClass.name}`,
      `adminDescription: ${objectClass.description}`,
      'objectClassCategory: 1',
      'subClassOf: top',
      'rDNAttID: cn',
      'possSuperiors: container',
      ...objectClass.must.filter((name) => name !== 'cn').map((name) => `mustContain: ${name}`),
      ...objectClass.may.map((name) => `mayContain: ${name}`),
    ]);
  }
  blocks.push(updateSchemaNow);
  return `${blocks.map((block) => block.join('\n')).join('\n\n')}\n`;
}
