import { StewardError } from '../../trust/index.js';

/**
 * Failures of site systems on their own hosts: install tokens, signed site-system requests, the
 * standalone management and distribution points (docs/errors.md, section Site systems;
 * docs/scale-out.md).
 */

/** A site system token that cannot be read, names no token issued here, or whose proof fails. */
export class SiteSystemTokenInvalidError extends StewardError {
  readonly code = 'ERR_SITE_SYSTEM_TOKEN_INVALID';
  override readonly status = 401;
}

/** A site system token used before: each token installs one site system. */
export class SiteSystemTokenUsedError extends StewardError {
  readonly code = 'ERR_SITE_SYSTEM_TOKEN_USED';
  override readonly status = 401;
}

/**
 * Standard mode's shared site-system credential, revoked: the site switched to advanced security
 * (or the credential was replaced). Each site system installs with a one-time token of its own.
 */
export class SiteSystemCredentialRevokedError extends StewardError {
  readonly code = 'ERR_SITE_SYSTEM_CREDENTIAL_REVOKED';
  override readonly status = 401;
}

/** A site system token past its expiry. */
export class SiteSystemTokenExpiredError extends StewardError {
  readonly code = 'ERR_SITE_SYSTEM_TOKEN_EXPIRED';
  override readonly status = 401;
}

/**
 * This site cannot certify a site system: it holds no root key (a primary site joined under a
 * central site, or a central site whose root key was moved offline), or no TLS CA key.
 */
export class CannotCertifyError extends StewardError {
  readonly code = 'ERR_CANNOT_CERTIFY';
  override readonly status = 409;
}

/** A site-system request whose signature, signer, age or binding (method, path, body) is wrong. */
export class SiteSystemUnauthorizedError extends StewardError {
  readonly code = 'ERR_SITE_SYSTEM_UNAUTHORIZED';
  override readonly status = 401;
}

/** The site server (or its database) cannot be reached from a site system right now. */
export class SiteUnreachableError extends StewardError {
  readonly code = 'ERR_SITE_UNREACHABLE';
  override readonly status = 503;
  override readonly retryable = true;
}

/** A site system's data folder is missing, damaged or of another kind. */
export class SiteSystemFolderError extends StewardError {
  readonly code = 'ERR_SITE_SYSTEM_FOLDER';
}
