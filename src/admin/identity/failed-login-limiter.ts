import { RateLimitedError } from './admin-errors.js';

/**
 * Counts failed logins per account name and per remote address in memory, and refuses further
 * attempts once either reaches `maxFailures` within `windowMs` (default 10 a minute). The window
 * starts at the first failure. At most `maxKeys` keys are kept; expired ones are dropped first, then
 * the oldest. A success clears the account name's count, never the address's.
 */
export interface FailedLoginLimiterOptions {
  readonly maxFailures?: number;
  readonly windowMs?: number;
  readonly maxKeys?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly clock?: () => number;
}

export interface LoginAttempt {
  readonly name?: string;
  readonly address?: string;
}

interface Window {
  readonly startedAt: number;
  failures: number;
}

export class FailedLoginLimiter {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #clock: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: FailedLoginLimiterOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#clock = options.clock ?? Date.now;
  }

  /** Throws RateLimitedError when the name or the address has used up its failures. */
  check(attempt: LoginAttempt): void {
    const now = this.#clock();
    for (const key of keysOf(attempt)) {
      const window = this.#current(key, now);
      if (window !== undefined && window.failures >= this.#maxFailures) {
        const retryAfterSeconds = Math.max(1, Math.ceil((window.startedAt + this.#windowMs - now) / 1000));
        throw new RateLimitedError(
          `Too many failed logins; try again in ${retryAfterSeconds} seconds.`,
          retryAfterSeconds,
        );
      }
    }
  }

  recordFailure(attempt: LoginAttempt): void {
    const now = this.#clock();
    for (const key of keysOf(attempt)) {
      const window = this.#current(key, now);
      if (window === undefined) {
        this.#makeRoom(now);
        this.#windows.set(key, { startedAt: now, failures: 1 });
      } else {
        window.failures += 1;
      }
    }
  }

  recordSuccess(attempt: LoginAttempt): void {
    if (attempt.name !== undefined) this.#windows.delete(nameKey(attempt.name));
  }

  #current(key: string, now: number): Window | undefined {
    const window = this.#windows.get(key);
    if (window === undefined) return undefined;
    if (now - window.startedAt >= this.#windowMs) {
      this.#windows.delete(key);
      return undefined;
    }
    return window;
  }

  #makeRoom(now: number): void {
    if (this.#windows.size < this.#maxKeys) return;
    for (const [key, window] of this.#windows) {
      if (now - window.startedAt >= this.#windowMs) this.#windows.delete(key);
    }
    // Maps iterate in insertion order, so the first key is the oldest window.
    while (this.#windows.size >= this.#maxKeys) {
      const oldest = this.#windows.keys().next();
      if (oldest.done === true) break;
      this.#windows.delete(oldest.value);
    }
  }
}

/** Account names are at most 128 characters, so a longer name is cut (bounding the memory a key
 * uses) without letting two real names share a count. */
function nameKey(name: string): string {
  return `name:${name.slice(0, 128).toLowerCase()}`;
}

function keysOf(attempt: LoginAttempt): string[] {
  const keys: string[] = [];
  if (attempt.name !== undefined) keys.push(nameKey(attempt.name));
  if (attempt.address !== undefined) keys.push(`address:${attempt.address}`);
  return keys;
}
