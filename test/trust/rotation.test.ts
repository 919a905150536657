/**
 * C1 root anchoring and rotation (TUF semantics): pins, trust on first use, chains of 1, 2 and 50
 * steps, gaps, forks, thresholds of old and new keys, expiry of intermediate and final roots.
 */
import { describe, expect, it } from 'vitest';
import {
  createRootDocument,
  followRotations,
  trustRootFromPin,
  trustRootOnFirstUse,
  type SignedDocument,
  type SigningKey,
  type StewardError,
  type TrustedRoot,
} from '../../src/trust/index.js';
import { daysFromNow, now, seededKey } from './support/pki.js';

type Step = {
  keys: SigningKey[];
  threshold: number;
  signers?: SigningKey[];
  issuedAt?: string;
  expiresAt?: string;
};

/** Root documents v1..vN; by default version N+1 is signed by all keys of N and all of N+1. */
function chainOf(steps: Step[]): SignedDocument[] {
  return steps.map((step, index) =>
    createRootDocument(
      {
        version: index + 1,
        keys: step.keys,
        threshold: step.threshold,
        issuedAt: step.issuedAt ?? daysFromNow(-100 + index),
        expiresAt: step.expiresAt ?? daysFromNow(365),
      },
      step.signers ?? [...new Set([...(steps[index - 1]?.keys ?? []), ...step.keys])],
    ),
  );
}

function singleKeySteps(count: number, label: string): Step[] {
  return Array.from({ length: count }, (_, i) => ({ keys: [seededKey(`${label}-${i}`)], threshold: 1 }));
}

const encoded = (chain: SignedDocument[]) => chain.map((document) => document.encoded);

function anchorOf(chain: SignedDocument[], key: SigningKey): TrustedRoot {
  return trustRootFromPin(encoded(chain.slice(0, 1)), key.fingerprint, now);
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as StewardError).code;
  }
  return 'accepted';
}

describe('C1 root anchoring', () => {
  const steps = singleKeySteps(3, 'anchor');
  const chain = chainOf(steps);
  const first = steps[0]!.keys[0]!;

  it('C1 accepts a chain of one document anchored by a pinned fingerprint', () => {
    const root = trustRootFromPin(encoded(chain.slice(0, 1)), first.fingerprint, now);
    expect(root.version).toBe(1);
    expect([...root.keys.keys()]).toEqual([first.keyId]);
    expect(root.hash).toBe(chain[0]!.hash);
  });

  it('C1 anchors on the lowest version containing the pin and follows the rest', () => {
    expect(trustRootFromPin(encoded(chain), first.keyId, now).version).toBe(3);
    const second = steps[1]!.keys[0]!;
    expect(trustRootFromPin(encoded(chain).reverse(), second.fingerprint.toUpperCase(), now).version).toBe(3);
  });

  it('C1 refuses when no document contains the pinned key (ERR_ROOT_PIN_MISMATCH)', () => {
    expect(codeOf(() => trustRootFromPin(encoded(chain), seededKey('stranger').fingerprint, now))).toBe(
      'ERR_ROOT_PIN_MISMATCH',
    );
    expect(codeOf(() => trustRootFromPin([], first.fingerprint, now))).toBe('ERR_ROOT_PIN_MISMATCH');
    expect(codeOf(() => trustRootFromPin(encoded(chain), 'not a fingerprint', now))).toBe(
      'ERR_PAYLOAD_INVALID',
    );
  });

  it('C1 refuses an anchor that contains the pinned key but is not signed by it', () => {
    const pinned = seededKey('pinned');
    const attacker = seededKey('attacker');
    const forged = chainOf([{ keys: [pinned, attacker], threshold: 1, signers: [attacker] }]);
    expect(codeOf(() => trustRootFromPin(encoded(forged), pinned.fingerprint, now))).toBe(
      'ERR_THRESHOLD_NOT_MET',
    );
  });

  it('C1 refuses an anchor not signed by a threshold of its own keys', () => {
    const [a, b] = [seededKey('own-a'), seededKey('own-b')];
    const weak = chainOf([{ keys: [a, b], threshold: 2, signers: [a] }]);
    expect(codeOf(() => trustRootFromPin(encoded(weak), a.fingerprint, now))).toBe('ERR_THRESHOLD_NOT_MET');
  });

  it('C1 trust on first use anchors on the first self-signed document and follows the chain', () => {
    expect(trustRootOnFirstUse(encoded(chain), now).version).toBe(3);
    const notSelfSigned = chainOf([{ keys: [seededKey('x')], threshold: 1, signers: [seededKey('y')] }]);
    expect(trustRootOnFirstUse([...encoded(notSelfSigned), ...encoded(chain)], now).version).toBe(3);
    expect(codeOf(() => trustRootOnFirstUse(encoded(notSelfSigned), now))).toBe('ERR_THRESHOLD_NOT_MET');
    expect(codeOf(() => trustRootOnFirstUse([], now))).toBe('ERR_ROTATION_CHAIN');
  });
});

describe('C1 root rotation', () => {
  it('C1 follows a chain of two rotations', () => {
    const steps = singleKeySteps(3, 'two');
    const chain = chainOf(steps);
    const root = followRotations(anchorOf(chain, steps[0]!.keys[0]!), encoded(chain), now);
    expect(root.version).toBe(3);
    expect([...root.keys.keys()]).toEqual([steps[2]!.keys[0]!.keyId]);
    expect(root.hash).toBe(chain[2]!.hash);
  });

  it('C1 follows 50 rotations with maxSteps raised, and the default cap of 32 refuses them (ERR_ROTATION_CHAIN)', () => {
    const steps = singleKeySteps(51, 'fifty');
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    expect(followRotations(anchor, encoded(chain), now, { maxSteps: 50 }).version).toBe(51);
    expect(codeOf(() => followRotations(anchor, encoded(chain), now))).toBe('ERR_ROTATION_CHAIN');
    expect(codeOf(() => followRotations(anchor, encoded(chain), now, { maxSteps: 49 }))).toBe(
      'ERR_ROTATION_CHAIN',
    );
  });

  it('C1 ignores versions at or below the held root and merges identical copies', () => {
    const steps = singleKeySteps(3, 'ignore');
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    const list = [...encoded(chain), chain[1]!.encoded, chain[0]!.encoded];
    expect(followRotations(anchor, list, now).version).toBe(3);
    expect(followRotations(anchor, [], now).version).toBe(1);
  });

  it('C1 refuses a skipped version (ERR_ROTATION_CHAIN)', () => {
    const steps = singleKeySteps(3, 'gap');
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    expect(codeOf(() => followRotations(anchor, [chain[2]!.encoded], now))).toBe('ERR_ROTATION_CHAIN');
  });

  it('C1 refuses a fork: two different documents of version 2 (ERR_ROTATION_CHAIN)', () => {
    const steps = singleKeySteps(2, 'fork');
    const chain = chainOf(steps);
    const other = chainOf([steps[0]!, { keys: [seededKey('fork-other')], threshold: 1 }]);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    expect(codeOf(() => followRotations(anchor, [chain[1]!.encoded, other[1]!.encoded], now))).toBe(
      'ERR_ROTATION_CHAIN',
    );
  });

  it('C1 refuses a step signed only by the new keys (ERR_THRESHOLD_NOT_MET naming the previous root)', () => {
    const steps = singleKeySteps(2, 'new-only');
    steps[1]!.signers = steps[1]!.keys;
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    expect(() => followRotations(anchor, encoded(chain), now)).toThrow(/keys of root version 1/);
    expect(codeOf(() => followRotations(anchor, encoded(chain), now))).toBe('ERR_THRESHOLD_NOT_MET');
  });

  it('C1 refuses a step signed only by the old keys (ERR_THRESHOLD_NOT_MET naming its own keys)', () => {
    const steps = singleKeySteps(2, 'old-only');
    steps[1]!.signers = steps[0]!.keys;
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    expect(() => followRotations(anchor, encoded(chain), now)).toThrow(/its own keys \(root version 2\)/);
  });

  it('C1 refuses a step below the threshold of the old keys (2-of-3 old, 1 signed)', () => {
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((l) => seededKey(`below-${l}`));
    const chain = chainOf([
      { keys: [a!, b!, c!], threshold: 2 },
      { keys: [d!, e!], threshold: 2, signers: [a!, d!, e!] },
    ]);
    const anchor = trustRootFromPin(encoded(chain.slice(0, 1)), a!.fingerprint, now);
    expect(anchor.version).toBe(1);
    expect(codeOf(() => followRotations(anchor, encoded(chain), now))).toBe('ERR_THRESHOLD_NOT_MET');
    expect(codeOf(() => trustRootFromPin(encoded(chain), a!.fingerprint, now))).toBe('ERR_THRESHOLD_NOT_MET');
  });

  it('C1 follows 2-of-3 rotations where keys overlap', () => {
    const [a, b, c, d, e, f] = ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => seededKey(`t23-${l}`));
    const chain = chainOf([
      { keys: [a!, b!, c!], threshold: 2, signers: [a!, b!] },
      { keys: [b!, c!, d!], threshold: 2, signers: [b!, c!] },
      { keys: [d!, e!, f!], threshold: 2, signers: [c!, d!, e!] },
    ]);
    const root = trustRootFromPin(encoded(chain), a!.fingerprint, now);
    expect(root.version).toBe(3);
    expect(root.threshold).toBe(2);
  });

  it('C1 refuses a tampered signature in the chain (ERR_SIGNATURE_INVALID)', () => {
    const steps = singleKeySteps(2, 'tamper');
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    const envelope = structuredClone(chain[1]!.envelope);
    const sig = Buffer.from(envelope.signatures[0]!.sig, 'base64');
    sig[5] = sig[5]! ^ 1;
    envelope.signatures[0]!.sig = sig.toString('base64');
    expect(codeOf(() => followRotations(anchor, [envelope], now))).toBe('ERR_SIGNATURE_INVALID');
  });

  it('C1 accepts an expired intermediate root but refuses an expired final root (freeze, ERR_EXPIRED)', () => {
    const steps = singleKeySteps(3, 'expiry');
    steps[0]!.expiresAt = daysFromNow(-50);
    steps[1]!.expiresAt = daysFromNow(-10);
    const chain = chainOf(steps);
    const root = trustRootFromPin(encoded(chain), steps[0]!.keys[0]!.fingerprint, now);
    expect(root.version).toBe(3);
    expect(
      codeOf(() => trustRootFromPin(encoded(chain.slice(0, 2)), steps[0]!.keys[0]!.fingerprint, now)),
    ).toBe('ERR_EXPIRED');
    const later = new Date(now.getTime() + 400 * 86_400_000);
    expect(codeOf(() => followRotations(root, [], later))).toBe('ERR_EXPIRED');
  });

  it('C1 refuses a root issued in the future (ERR_NOT_YET_VALID)', () => {
    const steps = singleKeySteps(2, 'future');
    steps[1]!.issuedAt = daysFromNow(1);
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    expect(codeOf(() => followRotations(anchor, encoded(chain), now))).toBe('ERR_NOT_YET_VALID');
  });

  it('C6 refuses a chain with far too many documents before reading them', () => {
    const steps = singleKeySteps(1, 'flood');
    const chain = chainOf(steps);
    const anchor = anchorOf(chain, steps[0]!.keys[0]!);
    const flood = Array.from({ length: 1100 }, () => chain[0]!.encoded);
    expect(codeOf(() => followRotations(anchor, flood, now))).toBe('ERR_ROTATION_CHAIN');
  });
});
