/**
 * Telling "the database is unreachable" apart from every other failure, for the HTTP layer: the
 * first is 503 ERR_DATABASE (retryable, docs/errors.md), the second a plain 500.
 */

/**
 * True when `error` (or its cause) says the database server cannot be reached or dropped the
 * connection, as opposed to a query that is wrong: the request may succeed when retried.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 8; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (unreachableCodes.has(code) || code.startsWith('08'))) return true;
    const message = current.message;
    if (unreachableMessages.some((pattern) => pattern.test(message))) return true;
    current = current.cause;
  }
  return false;
}

/** Socket errors, and SQLSTATEs 57P01-57P03 (shut down, crashed, starting) and 53300 (too many connections); class 08 is a connection exception. */
const unreachableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03',
  '53300',
]);
const unreachableMessages = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /^Client has encountered a connection error and is not queryable/,
];
