import { commandExists, runToEnd } from '../harness/children.js';

/**
 * `openssl dgst -sha256 FILE`: the platform's own SHA-256 over a cached file, the reference for
 * content hashing (Debian's sha256sum does not use the CPU's SHA instructions and is no reference).
 * Returns MB/s (10^6 bytes), or null when openssl is not installed.
 */
export async function opensslSha256MBps(file: string, bytes: number): Promise<number | null> {
  if (!(await commandExists('openssl'))) return null;
  const result = await runToEnd('openssl', ['dgst', '-sha256', file], { timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(`openssl dgst failed: ${result.stderr}`);
  return bytes / 1e6 / (result.ms / 1000);
}
