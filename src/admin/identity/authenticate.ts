import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthenticatedError } from './admin-errors.js';
import { authenticatePassword } from './accounts.js';
import { authenticateToken } from './api-tokens.js';
import { parseAuthorizationHeader } from './authorization-header.js';
import type { SiteDb } from './database-access.js';
import type { DirectorySignIn } from './directory-sign-in.js';
import { FailedLoginLimiter, type LoginAttempt } from './failed-login-limiter.js';
import type { AdminPrincipal } from './principal.js';
import { CLASS_INSTANCE, hasRight, type ObjectClass, type Right } from './rights.js';

export interface AuthenticateOptions {
  /** Counts failures per account name and remote address; without one nothing is limited. */
  readonly limiter?: FailedLoginLimiter;
  /** "Now" for token expiry, fixed once per request. */
  readonly now?: Date;
  /** Sign-in by directory bind (directory-sign-in.ts), when the site has a directory. */
  readonly directory?: DirectorySignIn;
}

/** The parts of a request authentication reads. */
export type AuthenticationRequest = Pick<FastifyRequest, 'headers' | 'ip'>;

/**
 * Authenticates an admin API request from its `Authorization` header (DESIGN.md section 7). The
 * principal and its rights are read from the database for this request only; nothing is cached.
 */
export async function authenticateRequest(
  db: SiteDb,
  request: AuthenticationRequest,
  options: AuthenticateOptions = {},
): Promise<AdminPrincipal> {
  const { limiter } = options;
  const header = request.headers.authorization;
  let attempt: LoginAttempt = { address: request.ip };
  try {
    if (header !== undefined && header !== '') limiter?.check(attempt);
    const credentials = parseAuthorizationHeader(header);
    if (credentials.kind === 'basic') {
      attempt = { name: credentials.name, address: request.ip };
      limiter?.check(attempt);
    }
    const principal =
      credentials.kind === 'basic'
        ? await authenticatePassword(
            db,
            credentials.name,
            credentials.password,
            options.directory === undefined ? {} : { directory: options.directory },
          )
        : await authenticateToken(db, credentials.token, options.now);
    limiter?.recordSuccess(attempt);
    return principal;
  } catch (error) {
    // A request without any credentials is not a failed login (clients send one before a challenge).
    if (error instanceof UnauthenticatedError && header !== undefined && header !== '') {
      limiter?.recordFailure(attempt);
    }
    throw error;
  }
}

const principals = new WeakMap<FastifyRequest, AdminPrincipal>();

/**
 * A Fastify `onRequest` hook that authenticates every request and remembers the principal for that
 * request only (read it with `principalOf`). A fresh limiter is created unless one is given.
 */
export function adminAuthenticationHook(
  db: SiteDb,
  options: { readonly limiter?: FailedLoginLimiter; readonly directory?: DirectorySignIn } = {},
): (request: FastifyRequest) => Promise<void> {
  const limiter = options.limiter ?? new FailedLoginLimiter();
  const { directory } = options;
  return async (request) => {
    const principal = await authenticateRequest(db, request, {
      limiter,
      now: new Date(),
      ...(directory === undefined ? {} : { directory }),
    });
    principals.set(request, principal);
  };
}

/** The principal `adminAuthenticationHook` authenticated for this request. */
export function principalOf(request: FastifyRequest): AdminPrincipal {
  const principal = principals.get(request);
  if (principal === undefined) throw new UnauthenticatedError('This request was not authenticated.');
  return principal;
}

/** Throws ForbiddenError naming the missing right unless the principal holds it. */
export function requireRight(
  principal: AdminPrincipal,
  objectClass: ObjectClass,
  instanceId: string | null,
  right: Right,
): void {
  if (hasRight(principal.grants, objectClass, instanceId, right)) return;
  const target =
    instanceId === null || instanceId === CLASS_INSTANCE
      ? `every ${objectClass}`
      : `${objectClass} "${instanceId}"`;
  throw new ForbiddenError(`Account "${principal.name}" lacks the right "${right}" on ${target}.`);
}
