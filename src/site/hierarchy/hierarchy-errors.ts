import { StewardError } from '../../trust/index.js';

/**
 * Failures of the site hierarchy: joining, key exchange, site links (docs/errors.md, section
 * Hierarchy; docs/hierarchy.md). Signature and certificate failures keep the trust core's codes
 * (ERR_UNKNOWN_KEY, ERR_SIGNATURE_INVALID, ERR_EXPIRED…): S3 refuses with them.
 */

/** A join token that cannot be read, names no token issued here, or whose proof does not verify. */
export class JoinTokenInvalidError extends StewardError {
  readonly code = 'ERR_JOIN_TOKEN_INVALID';
  override readonly status = 401;
}

/** A join token used before: each token joins one site. */
export class JoinTokenUsedError extends StewardError {
  readonly code = 'ERR_JOIN_TOKEN_USED';
  override readonly status = 401;
}

/** A join token past its expiry. */
export class JoinTokenExpiredError extends StewardError {
  readonly code = 'ERR_JOIN_TOKEN_EXPIRED';
  override readonly status = 401;
}

/** The site at the parent URL does not hold the site key the join token names. */
export class ParentKeyMismatchError extends StewardError {
  readonly code = 'ERR_PARENT_KEY_MISMATCH';
}

/** The parent refused the join (a site code in use, a secondary asked to take children…). */
export class JoinRefusedError extends StewardError {
  readonly code = 'ERR_JOIN_REFUSED';
  override readonly status = 409;
}

/** The certification did not come back in time; the join can be resumed. */
export class JoinTimeoutError extends StewardError {
  readonly code = 'ERR_JOIN_TIMEOUT';
  override readonly status = 504;
  override readonly retryable = true;
}

/** A site message from a site that has no link with this one. */
export class UnknownSiteError extends StewardError {
  readonly code = 'ERR_UNKNOWN_SITE';
  override readonly status = 403;
}

/** A site message whose sequence skips ahead: the sender resends from `expected`. */
export class SiteMessageGapError extends StewardError {
  readonly code = 'ERR_SITE_MESSAGE_GAP';
  override readonly status = 409;
  override readonly retryable = true;
  constructor(
    message: string,
    readonly expected: number,
  ) {
    super(message);
  }
}

/** Unsigned site-to-site data while legacy site interop is off (S3). */
export class UnsignedSiteDataError extends StewardError {
  readonly code = 'ERR_UNSIGNED_SITE_DATA';
  override readonly status = 401;
}

/** A record inside a verified site message that does not match its type's schema. */
export class SiteRecordInvalidError extends StewardError {
  readonly code = 'ERR_SITE_RECORD_INVALID';
}

/** The other end of a site link did not answer (or answered with a server error). */
export class SiteLinkUnreachableError extends StewardError {
  readonly code = 'ERR_SITE_LINK_UNREACHABLE';
  override readonly status = 503;
  override readonly retryable = true;
}

/**
 * A site link endpoint reached over TLS without a site server certificate from the hierarchy CA
 * whose site code is the site the signed envelope claims to come from (docs/tls.md).
 */
export class SiteLinkPeerError extends StewardError {
  readonly code = 'ERR_SITE_LINK_PEER';
  override readonly status = 403;
}

/** An object replicated from a parent site: it is changed at the site that created it. */
export class ReadOnlyObjectError extends StewardError {
  readonly code = 'ERR_READ_ONLY_OBJECT';
  override readonly status = 409;
}

/** A key-exchange file that cannot be read, or whose fingerprint is not the one confirmed. */
export class KeyExchangeFileError extends StewardError {
  readonly code = 'ERR_KEY_EXCHANGE_FILE';
}
