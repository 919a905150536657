/**
 * A token bucket per key (S1: a flood of registrations is limited, and the site keeps serving
 * everyone else). Buckets that refilled completely are forgotten, so memory stays bounded.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly refillPerSecond: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token for `key`; false when none is left. */
  take(key: string, nowMs: number): boolean {
    const bucket = this.#buckets.get(key) ?? { tokens: this.capacity, at: nowMs };
    const refilled = Math.min(
      this.capacity,
      bucket.tokens + ((nowMs - bucket.at) / 1000) * this.refillPerSecond,
    );
    if (refilled < 1) {
      this.#buckets.set(key, { tokens: refilled, at: nowMs });
      return false;
    }
    if (this.#buckets.size >= this.maxKeys) this.#sweep(nowMs);
    this.#buckets.set(key, { tokens: refilled - 1, at: nowMs });
    return true;
  }

  #sweep(nowMs: number): void {
    const fullAfterMs = (this.capacity / this.refillPerSecond) * 1000;
    for (const [key, bucket] of this.#buckets) {
      if (nowMs - bucket.at >= fullAfterMs) this.#buckets.delete(key);
    }
    if (this.#buckets.size >= this.maxKeys) this.#buckets.clear();
  }
}
