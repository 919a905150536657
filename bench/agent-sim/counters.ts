import { LatencyRecorder } from '../harness/stats.js';
import type { FaultCounts } from './faults.js';

/**
 * What a fleet of simulated agents did, for the figures and for the crypto floor: every
 * signature the agents made, every verification they performed, and the signatures and
 * verifications their requests cost the site (one signature per new assignment list received,
 * one verification per report posted).
 */
export class SimCounters {
  readonly requests = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly latency = {
    trust: new LatencyRecorder(),
    policy: new LatencyRecorder(),
    policyFirst: new LatencyRecorder(),
    reports: new LatencyRecorder(),
  };
  readonly faults: FaultCounts = { dropped: 0, delayed: 0, corrupted: 0 };

  /** Agent-side Ed25519 signatures (reports, registrations). */
  agentSigns = 0;
  /** Agent-side verifications needed by new documents: new assignment lists, bodies, manifests. */
  agentVerifiesNeeded = 0;
  /** Agent-side re-verifications of an unchanged, cached assignment list at each poll (the real agent does this). */
  agentVerifiesRepeat = 0;
  /** Verifications of trust bundles (root, site and MP certificates). */
  agentVerifiesTrust = 0;
  /** Site-side signatures: each new (agent, sequence) assignment list an agent received. */
  siteSigns = 0;
  /** Site-side verifications: each report envelope posted (the site verifies every copy). */
  siteVerifies = 0;
  /** Policy polls answered 304 Not Modified. */
  policyUnchanged = 0;
  reportsAcknowledged = 0;
  reportsSetAside = 0;
  contentBytesVerified = 0;
  /** Monotonic times (ms) at which a "program-succeeded" report was acknowledged by the MP. */
  readonly succeededAckTimes: number[] = [];

  count(kind: string): void {
    this.requests.set(kind, (this.requests.get(kind) ?? 0) + 1);
  }

  error(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** Crypto operations so far, to take differences over a window. */
  cryptoSnapshot(): CryptoSnapshot {
    return {
      agentSigns: this.agentSigns,
      agentVerifiesNeeded: this.agentVerifiesNeeded,
      agentVerifiesRepeat: this.agentVerifiesRepeat,
      agentVerifiesTrust: this.agentVerifiesTrust,
      siteSigns: this.siteSigns,
      siteVerifies: this.siteVerifies,
    };
  }

  errorSummary(): string {
    if (this.errors.size === 0) return 'none';
    return [...this.errors.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
  }
}

export interface CryptoSnapshot {
  agentSigns: number;
  agentVerifiesNeeded: number;
  agentVerifiesRepeat: number;
  agentVerifiesTrust: number;
  siteSigns: number;
  siteVerifies: number;
}

export function cryptoDelta(after: CryptoSnapshot, before: CryptoSnapshot): CryptoSnapshot {
  return {
    agentSigns: after.agentSigns - before.agentSigns,
    agentVerifiesNeeded: after.agentVerifiesNeeded - before.agentVerifiesNeeded,
    agentVerifiesRepeat: after.agentVerifiesRepeat - before.agentVerifiesRepeat,
    agentVerifiesTrust: after.agentVerifiesTrust - before.agentVerifiesTrust,
    siteSigns: after.siteSigns - before.siteSigns,
    siteVerifies: after.siteVerifies - before.siteVerifies,
  };
}
