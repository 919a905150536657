import { ManagementPointUnreachableError } from '../../src/agent/agent-errors.js';
import type { SeededRandom } from '../harness/rng.js';
import { sleep } from '../harness/timing.js';

/**
 * Injected failures, each a probability per request: `drop` loses the answer after the site
 * processed the request (the agent must retry, the site must not double-count), `delay` holds the
 * request back for delayMs, `corrupt` changes one byte of what the agent receives (assignments,
 * policy bodies, manifests, content), which the agent's checks must refuse.
 */
export interface FaultPlan {
  readonly drop: number;
  readonly delay: number;
  readonly delayMs: readonly [number, number];
  readonly corrupt: number;
}

export const noFaults: FaultPlan = { drop: 0, delay: 0, delayMs: [0, 0], corrupt: 0 };

/** Parses `drop=0.01,delay=0.05:50-500,corrupt=0.005` (all parts optional). */
export function parseFaultPlan(text: string): FaultPlan {
  let plan: FaultPlan = noFaults;
  for (const part of text.split(',').filter((p) => p !== '')) {
    const [name, value = ''] = part.split('=');
    if (name === 'drop') plan = { ...plan, drop: probability(value, part) };
    else if (name === 'corrupt') plan = { ...plan, corrupt: probability(value, part) };
    else if (name === 'delay') {
      const [p = '', range = '100-1000'] = value.split(':');
      const [min = '', max = ''] = range.split('-');
      plan = { ...plan, delay: probability(p, part), delayMs: [Number(min), Number(max === '' ? min : max)] };
    } else throw new Error(`unknown fault "${part}" (drop=P, delay=P:MIN-MAX, corrupt=P)`);
  }
  return plan;
}

function probability(text: string, part: string): number {
  const p = Number(text);
  if (!Number.isFinite(p) || p < 0 || p > 1) throw new Error(`fault "${part}": a probability is 0..1`);
  return p;
}

export function describeFaultPlan(plan: FaultPlan): string {
  if (plan.drop === 0 && plan.delay === 0 && plan.corrupt === 0) return 'none';
  return `drop ${plan.drop}, delay ${plan.delay} (${plan.delayMs[0]}-${plan.delayMs[1]} ms), corrupt ${plan.corrupt}`;
}

export interface FaultCounts {
  dropped: number;
  delayed: number;
  corrupted: number;
}

/** Applies a plan to one agent's requests with that agent's seeded generator. */
export class FaultInjector {
  constructor(
    readonly plan: FaultPlan,
    private readonly random: SeededRandom,
    private readonly counts: FaultCounts,
  ) {}

  /** Runs `call` with an optional delay before it and an optional lost answer after it. */
  async around<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (this.random.chance(this.plan.delay)) {
      this.counts.delayed += 1;
      await sleep(this.random.between(this.plan.delayMs[0], this.plan.delayMs[1]));
    }
    const value = await call();
    if (this.random.chance(this.plan.drop)) {
      this.counts.dropped += 1;
      throw new ManagementPointUnreachableError(`injected fault: the answer to ${what} was lost`);
    }
    return value;
  }

  /** Whether to corrupt the next thing received. */
  corruptNow(): boolean {
    if (!this.random.chance(this.plan.corrupt)) return false;
    this.counts.corrupted += 1;
    return true;
  }

  /** The text with one character in its middle part replaced by another. */
  corruptText(text: string): string {
    if (text.length === 0) return 'x';
    const at = Math.floor(this.random.between(0.2, 0.8) * text.length);
    const original = text.charAt(at);
    const replacement = original === 'A' ? 'B' : 'A';
    return text.slice(0, at) + replacement + text.slice(at + 1);
  }

  /** A copy of the chunk with one bit flipped. */
  corruptBytes(chunk: Uint8Array): Uint8Array {
    const copy = new Uint8Array(chunk);
    if (copy.byteLength > 0) {
      const at = Math.floor(this.random.next() * copy.byteLength);
      copy[at] = (copy[at] ?? 0) ^ 0x01;
    }
    return copy;
  }
}
