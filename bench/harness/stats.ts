/** Order statistics over latency samples and repeated measurements. */

/** The q-quantile (0..1) of the values by the nearest-rank method; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** A latency recorder that keeps every sample (runs here stay below a few million samples). */
export class LatencyRecorder {
  readonly #samples: number[] = [];

  record(ms: number): void {
    this.#samples.push(ms);
  }

  get count(): number {
    return this.#samples.length;
  }

  quantile(q: number): number {
    return quantile(this.#samples, q);
  }

  reset(): void {
    this.#samples.length = 0;
  }
}
