import { StewardError } from '../../trust/index.js';

/** Failures of `steward client push` (docs/errors.md, section Client push). */
export class PushHostKeyError extends StewardError {
  readonly code = 'ERR_PUSH_HOST_KEY';
}

export class PushAuthenticationError extends StewardError {
  readonly code = 'ERR_PUSH_AUTH_FAILED';
  override readonly status = 401;
}

export class PushConnectError extends StewardError {
  readonly code = 'ERR_PUSH_CONNECT';
  override readonly status = 503;
  override readonly retryable = true;
}

export class PushCredentialError extends StewardError {
  readonly code = 'ERR_PUSH_CREDENTIALS';
}

export class PushRemoteError extends StewardError {
  readonly code = 'ERR_PUSH_REMOTE_FAILED';
  override readonly status = 502;
}

export class PushAgentMissingError extends StewardError {
  readonly code = 'ERR_PUSH_AGENT_MISSING';
}
