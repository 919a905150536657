import { StewardError } from '../../trust/index.js';

/** Failures the legacy point answers with (docs/errors.md, section Legacy client). */
export class LegacyClientsDisabledError extends StewardError {
  readonly code = 'ERR_LEGACY_CLIENTS_DISABLED';
  override readonly status = 403;
}

export class LegacyTokenInvalidError extends StewardError {
  readonly code = 'ERR_LEGACY_TOKEN_INVALID';
  override readonly status = 401;
}

export class LegacyUnauthenticatedError extends StewardError {
  readonly code = 'ERR_LEGACY_UNAUTHENTICATED';
  override readonly status = 401;
}

/** A client that cannot check signatures asked for deployments, and the site does not allow that. */
export class LegacyUnverifiedRefusedError extends StewardError {
  readonly code = 'ERR_LEGACY_UNVERIFIED_REFUSED';
  override readonly status = 403;
}

/** A line-based request body that does not follow docs/legacy-client.md. */
export class LegacyRequestInvalidError extends StewardError {
  readonly code = 'ERR_LEGACY_REQUEST_INVALID';
  override readonly status = 400;
}
