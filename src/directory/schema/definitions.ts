/**
 * The schema extension as data (DESIGN.md section 4), rendered as LDIF for OpenLDAP
 * (openldap-schema.ts) and for Active Directory (ad-schema.ts). Every OID lies under ONE arc.
 *
 * The default arc uses 32473, the private enterprise number IANA reserves for documentation
 * (RFC 5612). It keeps examples honest but is not unique to anyone: an organisation that extends a
 * production directory should substitute an arc under its own registered enterprise number
 * (`steward directory schema --arc 1.3.6.1.4.1.<your number>.<n>`) and keep using it for good,
 * since OIDs in a schema cannot be changed once loaded.
 */
import { attributeNames as a, objectClassNames as c } from '../lookup/vocabulary.js';

export const defaultSchemaArc = '1.3.6.1.4.1.32473.1';

/** `string`: names and codes; `ia5`: URLs and address text; `envelope`: a DSSE envelope as JSON. */
export type AttributeSyntax = 'string' | 'ia5' | 'envelope';

export interface AttributeDefinition {
  name: string;
  /** OID = <arc>.1.<number>. */
  number: number;
  description: string;
  syntax: AttributeSyntax;
  singleValued: boolean;
  indexed: boolean;
}

export interface ClassDefinition {
  name: string;
  /** OID = <arc>.2.<number>. */
  number: number;
  description: string;
  must: string[];
  may: string[];
  /** Classes Active Directory provides itself are only in the OpenLDAP form. */
  openLdapOnly?: boolean;
}

export const attributeDefinitions: readonly AttributeDefinition[] = [
  {
    name: a.siteCode,
    number: 1,
    description: 'Steward site code',
    syntax: 'string',
    singleValued: true,
    indexed: true,
  },
  {
    name: a.siteKey,
    number: 2,
    description: 'Steward site public key record (JSON)',
    syntax: 'envelope',
    singleValued: true,
    indexed: false,
  },
  {
    name: a.boundary,
    number: 3,
    description: 'Steward boundary: an IP subnet (CIDR)',
    syntax: 'ia5',
    singleValued: false,
    indexed: false,
  },
  {
    name: a.assignedSiteCode,
    number: 4,
    description: 'Steward site that clients in the boundaries are assigned to',
    syntax: 'string',
    singleValued: true,
    indexed: false,
  },
  {
    name: a.siteCertificate,
    number: 5,
    description: 'Steward root-signed site certificate (DSSE envelope)',
    syntax: 'envelope',
    singleValued: true,
    indexed: false,
  },
  {
    name: a.mpName,
    number: 6,
    description: 'Steward management point name',
    syntax: 'string',
    singleValued: true,
    indexed: true,
  },
  {
    name: a.url,
    number: 7,
    description: 'Steward service URL',
    syntax: 'ia5',
    singleValued: false,
    indexed: false,
  },
  {
    name: a.mpCertificate,
    number: 8,
    description: 'Steward root-signed management point certificate (DSSE envelope)',
    syntax: 'envelope',
    singleValued: true,
    indexed: false,
  },
  {
    name: a.rangeLow,
    number: 9,
    description: 'Steward boundary range: first IP address',
    syntax: 'ia5',
    singleValued: true,
    indexed: false,
  },
  {
    name: a.rangeHigh,
    number: 10,
    description: 'Steward boundary range: last IP address',
    syntax: 'ia5',
    singleValued: true,
    indexed: false,
  },
  {
    name: a.rootDocument,
    number: 11,
    description: 'Steward root document (DSSE envelope), one per version',
    syntax: 'envelope',
    singleValued: false,
    indexed: false,
  },
];

export const classDefinitions: readonly ClassDefinition[] = [
  {
    name: c.site,
    number: 1,
    description: 'Steward site: code, key, boundaries, root-signed site certificate',
    must: ['cn', a.siteCode, a.siteCertificate],
    may: [a.siteKey, a.boundary, a.assignedSiteCode, 'description'],
  },
  {
    name: c.managementPoint,
    number: 2,
    description: 'Steward management point: name, site, URLs, root-signed MP certificate',
    must: ['cn', a.mpName, a.siteCode, a.mpCertificate],
    may: [a.url, 'description'],
  },
  {
    name: c.serverLocatorPoint,
    number: 3,
    description: 'Steward server locator point of a site',
    must: ['cn', a.siteCode, a.url],
    may: ['description'],
  },
  {
    name: c.boundaryRange,
    number: 4,
    description: 'Steward boundary: an IP address range of a site',
    must: ['cn', a.siteCode, a.rangeLow, a.rangeHigh],
    may: ['description'],
  },
  {
    name: c.rootChain,
    number: 5,
    description: 'Steward root document chain as a site holds it',
    must: ['cn', a.siteCode, a.rootDocument],
    may: ['description'],
  },
  {
    name: c.container,
    number: 6,
    description: 'Steward container (cn=System, cn=System Management) in directories without one',
    must: ['cn'],
    may: ['description'],
    openLdapOnly: true,
  },
];

export function attributeOid(arc: string, definition: AttributeDefinition): string {
  return `${arc}.1.${definition.number}`;
}

export function classOid(arc: string, definition: ClassDefinition): string {
  return `${arc}.2.${definition.number}`;
}
