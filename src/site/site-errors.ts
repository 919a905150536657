import { StewardError } from '../trust/index.js';

/** Failures of the site server and its database (listed in docs/errors.md, section Site). */
export class DatabaseError extends StewardError {
  readonly code = 'ERR_DATABASE';
  override readonly status = 503;
  override readonly retryable = true;
}

/** The database's TLS settings are wrong, or its TLS channel failed or is missing (docs/tls.md). */
export class DatabaseTlsError extends StewardError {
  readonly code = 'ERR_DATABASE_TLS';
}

export class DataFolderError extends StewardError {
  readonly code = 'ERR_DATA_FOLDER';
}

export class NotFoundError extends StewardError {
  readonly code = 'ERR_NOT_FOUND';
  override readonly status = 404;
}

export class ConflictError extends StewardError {
  readonly code = 'ERR_CONFLICT';
  override readonly status = 409;
}

export class InvalidRequestError extends StewardError {
  readonly code = 'ERR_INVALID_REQUEST';
}

export class KeyUnlockError extends StewardError {
  readonly code = 'ERR_KEY_LOCKED';
}
