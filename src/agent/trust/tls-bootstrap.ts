/**
 * Enrolment over HTTPS before the agent holds the root (docs/tls.md). The agent cannot validate the
 * server's certificate yet, so it reads the trust bundle once WITHOUT validation, only to take the
 * root chain and the CA endorsement from it, and notes the server's public key. It then checks the
 * root (C1: the pinned fingerprint, the directory's chain, or trust on first use, recorded as such)
 * and the root's endorsement of the CA. Everything after, the trust bundle again included, goes
 * over a validated connection: the server's certificate must chain to the endorsed CA, name the
 * host, and hold the same public key as the first time, so an attacker who answered the first
 * request cannot step in or out between the two.
 */
import { z } from 'zod';
import {
  managementPointPaths,
  protocolLimits,
  trustBundleSchema,
  type TrustBundle,
} from '../../protocol/index.js';
import {
  HttpsRequestError,
  httpsFetchUnverified,
  PayloadInvalidError,
  TlsCaMismatchError,
  tlsOptionsFor,
  type TlsClientOptions,
  type TrustedRoot,
  type VerifiedTlsCa,
} from '../../trust/index.js';
import { ManagementPointUnreachableError } from '../agent-errors.js';
import { acceptTlsCa } from './agent-tls.js';

export interface TlsBootstrap {
  /** TLS options for the validated connection: the endorsed CA and the server key first seen. */
  tls: TlsClientOptions;
  ca: VerifiedTlsCa;
  /** The encoded `tls-ca` endorsement. */
  endorsement: string;
  serverPublicKeySha256: string;
}

/**
 * Reads the trust bundle of an https management point without validating its certificate, derives
 * the root with `rootOf` (which must apply C1) and checks the root's endorsement of the CA.
 * ERR_TLS_CA_MISMATCH when the bundle carries no CA; the C1 and endorsement errors otherwise.
 */
export async function bootstrapTls(
  mpUrl: string,
  rootOf: (bundle: TrustBundle) => TrustedRoot,
  now: Date,
): Promise<TlsBootstrap> {
  const url = `${mpUrl.replace(/\/+$/, '')}${managementPointPaths.trust}`;
  let response;
  try {
    response = await httpsFetchUnverified(url, {
      maxBytes: protocolLimits.maxResponseBytes,
      timeoutMs: 30_000,
    });
  } catch (cause) {
    if (cause instanceof HttpsRequestError)
      throw new ManagementPointUnreachableError(`${url}: ${cause.message}`, { cause });
    throw cause;
  }
  if (response.status !== 200) {
    throw new ManagementPointUnreachableError(`${url} answered HTTP ${response.status} for the trust bundle`);
  }
  const bundle = parseBundle(response.body);
  const root = rootOf(bundle);
  const ca = acceptTlsCa(bundle, root, now);
  if (ca === undefined || bundle.tlsCaEndorsement === undefined) {
    throw new TlsCaMismatchError(
      `${mpUrl} serves HTTPS, but its trust bundle carries no hierarchy CA endorsed by the root`,
    );
  }
  return {
    tls: tlsOptionsFor({ caPem: ca.caCertificatePem, serverPublicKeySha256: response.serverPublicKeySha256 }),
    ca,
    endorsement: bundle.tlsCaEndorsement,
    serverPublicKeySha256: response.serverPublicKeySha256,
  };
}

function parseBundle(body: Uint8Array): TrustBundle {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch (cause) {
    throw new PayloadInvalidError('the management point answered a trust bundle that is not JSON', { cause });
  }
  const parsed = trustBundleSchema.safeParse(value);
  if (!parsed.success) {
    throw new PayloadInvalidError(`unexpected trust bundle: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}
