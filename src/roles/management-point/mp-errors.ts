import { StewardError } from '../../trust/index.js';

/** Failures a management point answers with (docs/errors.md, section Management point). */
export class UnknownClientError extends StewardError {
  readonly code = 'ERR_UNKNOWN_CLIENT';
  override readonly status = 404;
}

export class ClientRevokedError extends StewardError {
  readonly code = 'ERR_CLIENT_REVOKED';
  override readonly status = 403;
}

export class ClientNotApprovedError extends StewardError {
  readonly code = 'ERR_CLIENT_NOT_APPROVED';
  override readonly status = 403;
}

/** The client certificate of the connection names another client than the request. */
export class ClientCertificateMismatchError extends StewardError {
  readonly code = 'ERR_CLIENT_CERTIFICATE_MISMATCH';
  override readonly status = 403;
}

/**
 * A joined site asked the central site's hierarchy CA for the client's certificate through its
 * parent link; the answer has not come back down yet (docs/tls.md). The agent asks again later.
 */
export class ClientCertificatePendingError extends StewardError {
  readonly code = 'ERR_CLIENT_CERTIFICATE_PENDING';
  override readonly status = 503;
  override readonly retryable = true;
}

export class WrongSiteError extends StewardError {
  readonly code = 'ERR_WRONG_SITE';
  override readonly status = 400;
}

export class RateLimitedError extends StewardError {
  readonly code = 'ERR_RATE_LIMITED';
  override readonly status = 429;
  override readonly retryable = true;
}

export class ReportRejectedError extends StewardError {
  readonly code = 'ERR_REPORT_REJECTED';
}

export class ReportExpiredError extends StewardError {
  readonly code = 'ERR_REPORT_EXPIRED';
}
