/** Administrator identity and rights (DESIGN.md section 7): accounts, API tokens, rights, and the
 * admin API's authentication. */
export { UnauthenticatedError, ForbiddenError, WeakPasswordError, RateLimitedError } from './admin-errors.js';
export type { IdentityError } from './admin-errors.js';
export type { SiteDb } from './database-access.js';
export { inTransaction } from './database-access.js';
export {
  createAccount,
  findAccountByName,
  getAccount,
  setPassword,
  disableAccount,
  authenticatePassword,
  type AdminAccount,
  type NewAccount,
} from './accounts.js';
export { minPasswordLength } from './passwords.js';
export {
  issueApiToken,
  revokeApiToken,
  authenticateToken,
  apiTokenPrefix,
  type IssuedApiToken,
} from './api-tokens.js';
export {
  objectClasses,
  rightNames,
  objectClassSchema,
  rightSchema,
  CLASS_INSTANCE,
  fullAdministrator,
  isFullAdministrator,
  hasRight,
  type ObjectClass,
  type Right,
  type RightGrant,
} from './rights.js';
export { grantRights, revokeRights, listRights } from './rights-store.js';
export { principalFor, type AdminPrincipal } from './principal.js';
export { authenticateByDirectory, type DirectorySignIn } from './directory-sign-in.js';
export {
  grantGroupRights,
  revokeGroupRights,
  listGroupRights,
  groupDnOf,
  type GroupGrant,
} from './directory-group-rights.js';
export {
  FailedLoginLimiter,
  type FailedLoginLimiterOptions,
  type LoginAttempt,
} from './failed-login-limiter.js';
export { parseAuthorizationHeader, type AuthorizationCredentials } from './authorization-header.js';
export {
  authenticateRequest,
  adminAuthenticationHook,
  principalOf,
  requireRight,
  type AuthenticateOptions,
  type AuthenticationRequest,
} from './authenticate.js';
