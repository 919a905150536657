import { createSha256, pae, SigningKey } from '../../src/trust/index.js';
import { SeededRandom } from '../harness/rng.js';

export interface CryptoCost {
  /** Microseconds per Ed25519 signature of one report-sized message, on one core. */
  signUs: number;
  /** Microseconds per Ed25519 verification of the same message, on one core. */
  verifyUs: number;
  /** SHA-256 over a buffer in memory, MB/s (10^6 bytes). */
  sha256MBps: number;
}

/**
 * The cost of one signature and one verification with the trust core's Ed25519 (node:crypto),
 * measured now, on a message the size of a status report's PAE. The crypto floor of a scenario is
 * built from these figures, measured in the same run.
 */
export function measureCryptoCost(durationMs: number, seed: number): CryptoCost {
  const random = SeededRandom.derive(seed, 'crypto-cost');
  const key = SigningKey.fromSeed(random.bytes(32));
  const verifying = key.verifyingKey();
  const message = pae('application/vnd.steward.client-report+json', random.bytes(600));
  const signature = key.sign(message);

  const signUs = timePerOp(durationMs, () => key.sign(message));
  const verifyUs = timePerOp(durationMs, () => {
    if (!verifying.verify(message, signature)) throw new Error('verification failed');
  });

  const buffer = random.bytes(16 * 1024 * 1024);
  const started = performance.now();
  let bytes = 0;
  while (performance.now() - started < durationMs) {
    const hash = createSha256();
    hash.update(buffer);
    hash.digestHex();
    bytes += buffer.byteLength;
  }
  const sha256MBps = bytes / 1e6 / ((performance.now() - started) / 1000);
  return { signUs, verifyUs, sha256MBps };
}

function timePerOp(durationMs: number, op: () => void): number {
  for (let i = 0; i < 200; i += 1) op();
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let i = 0; i < 100; i += 1) op();
    count += 100;
    elapsed = performance.now() - started;
  }
  return (elapsed * 1000) / count;
}
