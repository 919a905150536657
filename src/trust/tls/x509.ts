/**
 * The X.509 library (@peculiar/x509), loaded on first use with what it needs: a Reflect metadata
 * polyfill (its dependency injection requires one, loaded before it) and node's WebCrypto as its
 * crypto provider. Only issuing (authority.ts) calls it, and only when it issues: loading takes a
 * few hundred milliseconds that every other `steward` command, and every agent, is spared.
 */
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

export type { X509 };

let loading: Promise<typeof X509> | undefined;

/** The X.509 library, loaded once. */
export function loadX509(): Promise<typeof X509> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    return x509;
  })();
  return loading;
}
