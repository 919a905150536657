import { SigningKey } from '../../src/trust/index.js';
import { SeededRandom } from '../harness/rng.js';

/** One simulated machine: its key (from a seeded Ed25519 seed), host name and loopback address. */
export interface AgentIdentity {
  readonly index: number;
  readonly key: SigningKey;
  readonly clientId: string;
  readonly hostname: string;
  /** The loopback address its registration comes from (the MP limits registrations per address). */
  readonly sourceAddress: string;
}

/** Agents that share one source address: below the management point's per-address burst of 20. */
export const agentsPerSourceAddress = 16;

/** Agent `index` of the run seeded with `seed`: the same seed gives the same keys. */
export function agentIdentity(seed: number, index: number): AgentIdentity {
  const key = SigningKey.fromSeed(SeededRandom.derive(seed, `agent-key-${index}`).bytes(32));
  return {
    index,
    key,
    clientId: key.keyId,
    hostname: `sim-${String(index).padStart(6, '0')}`,
    sourceAddress: sourceAddressFor(index),
  };
}

/**
 * 127.1.x.y: every address of 127.0.0.0/8 is local on Linux, so simulated agents can come from
 * many addresses, like machines behind a few NAT gateways.
 */
export function sourceAddressFor(index: number): string {
  const slot = Math.floor(index / agentsPerSourceAddress);
  return `127.1.${Math.floor(slot / 250) % 250}.${(slot % 250) + 1}`;
}
