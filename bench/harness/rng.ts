/**
 * A small seeded pseudo-random generator (mulberry32), so a run with the same seed makes the same
 * keys, jitter and fault decisions. Not for secrets: the site's own keys stay random.
 */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A generator for a sub-stream (one agent, one purpose) derived from this seed and a label. */
  static derive(seed: number, label: string): SeededRandom {
    let hash = seed >>> 0;
    for (let i = 0; i < label.length; i += 1) {
      hash = Math.imul(hash ^ label.charCodeAt(i), 0x9e3779b1) >>> 0;
      hash = (hash ^ (hash >>> 16)) >>> 0;
    }
    return new SeededRandom(hash);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  /** `length` pseudo-random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    const words = new Uint32Array(out.buffer, 0, Math.floor(length / 4));
    for (let i = 0; i < words.length; i += 1) words[i] = (this.next() * 4294967296) >>> 0;
    for (let i = words.length * 4; i < length; i += 1) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}
