/**
 * Steward's error model: one class per failure kind, each with a stable `code` and the HTTP status
 * it maps to. Every code is listed in docs/errors.md (a test fails when one is missing).
 *
 * The base class lives in the trust core because the trust core imports nothing of ours; every other
 * context extends it.
 */
export abstract class StewardError extends Error {
  abstract readonly code: `ERR_${string}`;
  /** HTTP status when this error answers a request (mapped in one place: src/protocol/http-errors.ts). */
  readonly status: number = 400;
  /** True when the same request may succeed later (agents keep such reports queued). */
  readonly retryable: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export function isStewardError(value: unknown): value is StewardError {
  return value instanceof StewardError;
}
