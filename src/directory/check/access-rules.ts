/**
 * The minimal access rules of the System Management container (DESIGN.md section 4, S4), in the
 * two forms docs/directory.md gives: OpenLDAP olcAccess lines and Active Directory ACEs. Site
 * systems may create entries below the container and change only the entries they created;
 * everyone may read; nobody but an entry's creator may modify or delete it.
 */
import { systemManagementDn } from '../lookup/vocabulary.js';

export function defaultSiteSystemsGroupDn(baseDn: string): string {
  return `cn=Site Systems,ou=groups,${baseDn}`;
}

/** The olcAccess rules (in order) for the database holding `baseDn`. */
export function openLdapAccessRules(
  baseDn: string,
  groupDn: string = defaultSiteSystemsGroupDn(baseDn),
): string[] {
  const container = systemManagementDn(baseDn);
  return [
    'to attrs=userPassword by self write by anonymous auth by * none',
    `to dn.base="${container}" attrs=children by group.exact="${groupDn}" write by * read`,
    `to dn.children="${container}" by dnattr=creatorsName write by * read`,
    'to * by * read',
  ];
}

/** The rules as an ldapmodify change for cn=config (database {1}mdb unless told otherwise). */
export function openLdapAccessLdif(
  baseDn: string,
  groupDn?: string,
  database = 'olcDatabase={1}mdb,cn=config',
): string {
  const lines = openLdapAccessRules(baseDn, groupDn).map((rule, index) => `olcAccess: {${index}}${rule}`);
  return [`dn: ${database}`, 'changetype: modify', 'replace: olcAccess', ...lines, ''].join('\n');
}

/**
 * The ACEs to add to the container, in SDDL (`samba-tool dsacl set --sddl`, or dsacls on Windows):
 * create-child for the site systems; for CREATOR OWNER read, write, delete and list on descendants
 * but neither WRITE_DAC nor WRITE_OWNER; OWNER RIGHTS limited to reading permissions (on Windows
 * this withdraws the owner's implicit WRITE_DAC); read for Authenticated Users on descendants.
 */
export function adContainerAces(siteSystemsSid: string): string {
  return `(A;;CC;;;${siteSystemsSid})(A;CIIO;RPWPSDLCLORC;;;CO)(A;CIIO;RC;;;OW)(A;CIIO;GR;;;AU)`;
}

export function adAccessDescription(
  baseDn: string,
  siteSystemsSid = '<SID of the Site Systems group>',
): string {
  return [
    `On ${systemManagementDn(baseDn)}:`,
    '  - Site Systems group: Create all child objects, this object only (no Write, no Delete child).',
    '  - CREATOR OWNER: Read, Write, Delete, List contents, List object, Read permissions; descendant',
    '    objects only. Not Full control: no Modify permissions, no Modify owner.',
    '  - OWNER RIGHTS: Read permissions only, descendant objects only.',
    '  - Authenticated Users: Read, descendant objects only (the container itself is readable by default).',
    '  - Nobody else but domain administrators: Write, Delete, Delete child or Modify permissions.',
    `  SDDL: ${adContainerAces(siteSystemsSid)}`,
  ].join('\n');
}

export function accessFix(flavor: 'openldap' | 'ad', baseDn: string, groupDn?: string): string {
  if (flavor === 'ad') return adAccessDescription(baseDn);
  return [
    'Set the database access rules to (ldapmodify as the cn=config administrator):',
    ...openLdapAccessRules(baseDn, groupDn).map((rule, index) => `  olcAccess: {${index}}${rule}`),
  ].join('\n');
}
