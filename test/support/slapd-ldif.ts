/** The LDIF of the private slapd (test/support/slapd.ts): cn=config, base entries, accounts, ACLs. */
import type { TestCa } from '../directory/support/test-ca.js';

export function configLdif(options: {
  dir: string;
  baseDn: string;
  password: string;
  ca: TestCa | undefined;
}) {
  const { dir, baseDn, password, ca } = options;
  const tls =
    ca === undefined
      ? ''
      : `olcTLSCACertificateFile: ${ca.caFile}\nolcTLSCertificateFile: ${ca.certFile}\n` +
        `olcTLSCertificateKeyFile: ${ca.keyFile}\n`;
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid
${tls}
dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif

include: file:///etc/ldap/schema/cosine.ldif

include: file:///etc/ldap/schema/inetorgperson.ldif

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=admin,cn=config
olcRootPW: ${password}

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${baseDn}
olcDbDirectory: ${dir}/db
olcRootDN: cn=admin,${baseDn}
olcRootPW: ${password}
olcDbIndex: objectClass eq
`;
}

export function baseLdif(baseDn: string): string {
  return `dn: ${baseDn}
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: ou=people,${baseDn}
objectClass: organizationalUnit
ou: people

dn: ou=site-systems,${baseDn}
objectClass: organizationalUnit
ou: site-systems

dn: ou=groups,${baseDn}
objectClass: organizationalUnit
ou: groups

`;
}

export function accountsLdif(
  baseDn: string,
  siteSystems: readonly { name: string; dn: string; password: string }[],
  user: { name: string; dn: string; password: string },
): string {
  const person = (account: { name: string; dn: string; password: string }) =>
    `dn: ${account.dn}\nobjectClass: inetOrgPerson\nuid: ${account.name}\ncn: ${account.name}\n` +
    `sn: ${account.name}\nuserPassword: ${account.password}\n\n`;
  const members = siteSystems.map((account) => `member: ${account.dn}`).join('\n');
  return (
    [...siteSystems, user].map(person).join('') +
    `dn: cn=Site Systems,ou=groups,${baseDn}\nobjectClass: groupOfNames\ncn: Site Systems\n${members}\n\n`
  );
}

/** cn=System and cn=System Management, created by the directory administrator (docs/directory.md). */
export function containerLdif(baseDn: string): string {
  return `dn: cn=System,${baseDn}
objectClass: stewardContainer
cn: System

dn: cn=System Management,cn=System,${baseDn}
objectClass: stewardContainer
cn: System Management
description: Steward sites, management points and boundaries
`;
}
