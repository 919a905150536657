import type { SecurityCheck } from '../security-check.js';
import { adminDirectorySignIn } from './admin-directory-sign-in.js';
import { advancedClientsOnly } from './advanced-clients-only.js';
import { advancedSecurity } from './advanced-security.js';
import { clientApproval } from './client-approval.js';
import { clientModes } from './client-modes.js';
import { clientRoots } from './client-roots.js';
import { directoryAcls } from './directory-acls.js';
import { keyCertificateAges } from './key-certificate-ages.js';
import { legacySiteData } from './legacy-site-data.js';
import { mpDatabaseChannel } from './mp-database-channel.js';
import { mpOwnHost } from './mp-own-host.js';
import { noPlainHttp } from './no-plain-http.js';
import { noStandingAdmins } from './no-standing-admins.js';
import { oneMpPerPrimary } from './one-mp-per-primary.js';
import { proxyMpChannel } from './proxy-mp-channel.js';
import { rootKeyOffline } from './root-key-offline.js';
import { secureKeyExchange } from './secure-key-exchange.js';
import { singleSite } from './single-site.js';

/** Every check, in the order of docs/audit.md (the Security Planning best practices). */
export const securityChecks: readonly SecurityCheck[] = [
  advancedSecurity,
  singleSite,
  advancedClientsOnly,
  clientRoots,
  clientModes,
  oneMpPerPrimary,
  proxyMpChannel,
  mpDatabaseChannel,
  mpOwnHost,
  secureKeyExchange,
  legacySiteData,
  directoryAcls,
  adminDirectorySignIn,
  noStandingAdmins,
  keyCertificateAges,
  rootKeyOffline,
  noPlainHttp,
  clientApproval,
];
