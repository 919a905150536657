/**
 * The directory as a trusted source, reader side (DESIGN.md sections 3 and 4): what an agent needs
 * to find its site and management points in LDAP. Imports only src/trust, node built-ins and
 * ldapts, so that the agent bundle can carry it.
 */
export * from './directory-errors.js';
export { resolveDirectoryConfig, type DirectoryConfig, type DirectoryTlsMode } from './directory-config.js';
export {
  directorySettingsSchema,
  directoryConfigOf,
  directorySettingsOf,
  type DirectorySettings,
} from './directory-settings.js';
export { openDirectorySession, withDirectorySession, type DirectorySession } from './session.js';
export type { DirectoryFlavor } from './root-dse.js';
export {
  attributeNames,
  objectClassNames,
  systemManagementDn,
  siteServerAccountName,
  entryCn,
  entryDn,
  type EntryKind,
} from './vocabulary.js';
export {
  lookupSiteForAddresses,
  type SiteMatch,
  type SiteLookupResult,
  type LookupOptions,
} from './lookup-site.js';
export {
  lookupManagementPoints,
  lookupRootChain,
  type ManagementPointMatch,
  type ServerLocatorPointMatch,
  type ManagementPointLookupResult,
} from './lookup-management-points.js';
export { expectedWriterNames, screenRecords, type VerifyOptions } from './authorship.js';
export { readRecords, directoryLimits, type RejectedEntry, type DirectoryRecord } from './entries.js';
export { selfIdentity, writerResolver, writerSearchOptions, type EntryWriter } from './writer.js';
export { escapeRdnValue, escapeFilterValue, normalizeDn, sameDn, parseDn, firstRdnValue } from './dn.js';
export { directoryFailure, isDenied, resultCodeOf, ldapResult } from './ldap-failure.js';
