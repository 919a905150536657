/**
 * The directory as a trusted source, reader side (DESIGN.md sections 3 and 4): what an agent needs
 * to find its site and management points in LDAP. Imports only src/trust, node built-ins and
 * ldapts, so that the agent bundle can carry it.
 */
export * from './directory-errors.js';
export { resolveDirectoryConfig, type DirectoryConfig, type DirectoryTlsMode } from './directory-config.js';
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
