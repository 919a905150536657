import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './001-initial.js';
import * as tls from './002-tls.js';
import * as hierarchy from './003-hierarchy.js';
import * as directoryAdmins from './004-directory-admins.js';
import * as legacyClients from './005-legacy-clients.js';
import * as siteSystems from './006-site-systems.js';
import * as sharedSiteSystemCredential from './007-shared-site-system-credential.js';

/** The numbered migrations, in order. Add new ones at the end; never edit a released one. */
const migrations: Record<string, Migration> = {
  '001-initial': initial,
  '002-tls': tls,
  '003-hierarchy': hierarchy,
  '004-directory-admins': directoryAdmins,
  '005-legacy-clients': legacyClients,
  '006-site-systems': siteSystems,
  '007-shared-site-system-credential': sharedSiteSystemCredential,
};

export const siteMigrations: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};
