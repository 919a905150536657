/** The directory context (DESIGN.md section 4): schema, publishing, ACL check, and lookup. */
export * from './lookup/index.js';
export {
  directorySchema,
  defaultSchemaArc,
  adSchemaPlaceholder,
  type SchemaFormat,
  type SchemaOptions,
} from './schema/index.js';
export { publishSiteEntries, unpublishSiteEntries, type PublishResult } from './publish/publish.js';
export type { PublishEntries } from './publish/desired-entries.js';
export { schemaInstalled } from './publish/schema-present.js';
export { checkDirectoryAcls, type AclProbes, type AclReport } from './check/acl-check.js';
export type { AclFinding, AclResult } from './check/findings.js';
export type { ProbeAccount } from './check/probe-accounts.js';
export {
  openLdapAccessRules,
  openLdapAccessLdif,
  adContainerAces,
  adAccessDescription,
  defaultSiteSystemsGroupDn,
} from './check/access-rules.js';
