/**
 * The schema extension: one OID arc, every name once, both LDIF forms; loaded into a real slapd
 * over LDAP as cn=admin,cn=config (the Samba form loads in samba.test.ts). Publishing refuses a
 * directory without it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attributeNames,
  defaultSchemaArc,
  directorySchema,
  objectClassNames,
  publishSiteEntries,
  schemaInstalled,
  withDirectorySession,
} from '../../src/directory/index.js';
import { slapdSkipReason, startSlapd, type TestSlapd } from '../support/slapd.js';
import { ldapModify } from './support/ldap-tools.js';
import { createHierarchy } from './support/site-pki.js';

function oids(ldif: string): string[] {
  return [...ldif.matchAll(/(?:\( |attributeID: |governsID: )([0-9.]+)/g)].map((m) => m[1] ?? '');
}

describe('directorySchema', () => {
  it('puts every OID under the one documented arc, each once, in both forms', () => {
    for (const format of ['openldap', 'ad'] as const) {
      const found = oids(directorySchema(format));
      expect(found.length).toBeGreaterThanOrEqual(Object.keys(attributeNames).length + 5);
      expect(new Set(found).size).toBe(found.length);
      for (const oid of found) expect(oid.startsWith(`${defaultSchemaArc}.`)).toBe(true);
    }
  });

  it('defines every attribute and object class Steward writes', () => {
    const openldap = directorySchema('openldap');
    const ad = directorySchema('ad');
    for (const name of Object.values(attributeNames)) {
      expect(openldap).toContain(`NAME '${name}'`);
      expect(ad).toContain(`lDAPDisplayName: ${name}\n`);
    }
    for (const name of Object.values(objectClassNames)) expect(openldap).toContain(`NAME '${name}'`);
    expect(ad).not.toContain(`lDAPDisplayName: ${objectClassNames.container}\n`);
  });

  it('substitutes an organisation’s own arc and refuses one that is not an OID', () => {
    const own = directorySchema('openldap', { arc: '1.3.6.1.4.1.99999.7' });
    expect(oids(own).every((oid) => oid.startsWith('1.3.6.1.4.1.99999.7.'))).toBe(true);
    expect(() => directorySchema('ad', { arc: '1.3.6.x' })).toThrow(
      expect.objectContaining({ code: 'ERR_DIRECTORY_CONFIG' }) as Error,
    );
  });

  it('writes the AD form against the ldifde placeholder, with schemaUpdateNow before the classes and at the end', () => {
    const ad = directorySchema('ad');
    expect(ad).toContain('dn: CN=stewardSite,CN=Schema,CN=Configuration,DC=X\n');
    const blocks = ad.split('\n\n');
    const firstClass = blocks.findIndex((b) => b.includes('objectClass: classSchema'));
    expect(blocks[firstClass - 1]).toContain('schemaUpdateNow: 1');
    expect(blocks.at(-1)).toContain('schemaUpdateNow: 1');
    expect(directorySchema('ad', { schemaDn: 'CN=Schema,CN=Configuration,DC=corp,DC=test' })).not.toContain(
      'DC=X',
    );
  });
});

describe.skipIf(slapdSkipReason() !== undefined)('the OpenLDAP form in a real slapd', () => {
  let slapd: TestSlapd;
  beforeAll(async () => {
    slapd = await startSlapd({ loadSchema: false });
  });
  afterAll(async () => {
    await slapd.stop();
  });

  it('publishing refuses a directory without the schema (ERR_DIRECTORY_SCHEMA)', async () => {
    const pki = createHierarchy();
    await expect(
      publishSiteEntries(slapd.config(slapd.siteSystems[0]), { siteCertificate: pki.siteCertificate('ABC') }),
    ).rejects.toMatchObject({ code: 'ERR_DIRECTORY_SCHEMA' });
  });

  it('loads into cn=config over LDAP, and the object classes are then known', async () => {
    expect(await withDirectorySession(slapd.config(), schemaInstalled)).toBe(false);
    await ldapModify(slapd.configAdmin, directorySchema('openldap'));
    expect(await withDirectorySession(slapd.config(), schemaInstalled)).toBe(true);
  });
});
