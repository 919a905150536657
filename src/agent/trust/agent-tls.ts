/**
 * The agent's side of transport security (docs/tls.md): the hierarchy CA it validates servers
 * against (only after the root it holds endorsed it, C1; never the system trust store), and its
 * client certificate, obtained from its management point once approved and renewed before it
 * expires. Over plain HTTP none of this is used.
 */
import { access, rename, rm } from 'node:fs/promises';
import { z } from 'zod';
import type { TrustBundle } from '../../protocol/index.js';
import {
  certificateNeedsRenewal,
  describeCertificate,
  isIssuedBy,
  randomToken,
  readTlsKeyFile,
  signDocument,
  TlsCaMismatchError,
  TlsKey,
  tlsKeyPem,
  tlsOptionsFor,
  verifyCaEndorsement,
  writeTlsKeyFile,
  type KeySecret,
  type SigningKey,
  type TlsClientOptions,
  type TrustedRoot,
  type VerifiedTlsCa,
} from '../../trust/index.js';
import type { AgentLayout } from '../state/agent-layout.js';
import { readState, writeState } from '../state/json-state.js';

export const tlsStateSchema = z.strictObject({
  /** The hierarchy CA certificate (PEM) and the root's `tls-ca` endorsement of it. */
  caCertificate: z.string().max(64 * 1024),
  caEndorsement: z.string().max(1024 * 1024),
  /** This client's certificate (PEM), or null before the first is issued. */
  clientCertificate: z
    .string()
    .max(64 * 1024)
    .nullable(),
});

export type TlsState = z.output<typeof tlsStateSchema>;

/**
 * The CA a trust bundle offers, verified against the root the agent holds (C1): the root's
 * `tls-ca` endorsement must name exactly this certificate. Undefined when the bundle carries none
 * (a site serving plain HTTP); ERR_TLS_CA_MISMATCH when only one of the two fields is there.
 */
export function acceptTlsCa(bundle: TrustBundle, root: TrustedRoot, now: Date): VerifiedTlsCa | undefined {
  const { tlsCaCertificate, tlsCaEndorsement } = bundle;
  if (tlsCaCertificate === undefined && tlsCaEndorsement === undefined) return undefined;
  if (tlsCaCertificate === undefined || tlsCaEndorsement === undefined) {
    throw new TlsCaMismatchError('The trust bundle carries a TLS CA certificate without its endorsement.');
  }
  return verifyCaEndorsement(tlsCaEndorsement, tlsCaCertificate, root, now);
}

/** Client certificates are asked for this long before a request (the site keeps them an hour). */
const requestValidityMs = 10 * 60_000;

/** The agent's TLS state: the endorsed CA, and the client certificate with its key. */
export class AgentTls {
  #clientKey: TlsKey | undefined;
  #options: { state: TlsState; options: TlsClientOptions; until: Date | null } | undefined;

  private constructor(
    private readonly layout: AgentLayout,
    private readonly secret: KeySecret,
    private state: TlsState | undefined,
    clientKey: TlsKey | undefined,
  ) {
    this.#clientKey = clientKey;
  }

  /** Reads state/tls.json and the client TLS key (a key that does not match the certificate is dropped). */
  static async load(layout: AgentLayout, secret: KeySecret): Promise<AgentTls> {
    const state = await readState(layout.tls, tlsStateSchema);
    let key: TlsKey | undefined;
    if (state?.clientCertificate !== null && state !== undefined && (await exists(layout.clientTlsKey))) {
      key = await readTlsKeyFile(layout.clientTlsKey, secret).catch(() => undefined);
      if (
        key !== undefined &&
        describeCertificate(state.clientCertificate).publicKeySha256 !== key.publicKeySha256
      )
        key = undefined;
    }
    return new AgentTls(layout, secret, state, key);
  }

  /** True once the agent holds a hierarchy CA (it enrolled over HTTPS or its site serves HTTPS). */
  get hasCa(): boolean {
    return this.state !== undefined;
  }

  /** Records a verified CA (and drops a client certificate another CA issued). */
  async setCa(ca: VerifiedTlsCa, endorsement: string): Promise<void> {
    if (this.state?.caCertificate === ca.caCertificatePem && this.state.caEndorsement === endorsement) return;
    const keep =
      this.state?.clientCertificate !== null &&
      this.state?.clientCertificate !== undefined &&
      isIssuedBy(this.state.clientCertificate, ca.caCertificatePem);
    this.state = {
      caCertificate: ca.caCertificatePem,
      caEndorsement: endorsement,
      clientCertificate: keep ? (this.state?.clientCertificate ?? null) : null,
    };
    if (!keep) this.#clientKey = undefined;
    await writeState(this.layout.tls, this.state);
  }

  /**
   * TLS options for HTTPS to management and distribution points: only the hierarchy CA is trusted;
   * the client certificate is presented while it is in date. Undefined before a CA is known.
   */
  clientOptions(now: Date): TlsClientOptions | undefined {
    const state = this.state;
    if (state === undefined) return undefined;
    const cached = this.#options;
    if (cached !== undefined && cached.state === state && (cached.until === null || cached.until > now)) {
      return cached.options;
    }
    const certificate = state.clientCertificate;
    const key = this.#clientKey;
    const notAfter = certificate === null ? null : describeCertificate(certificate).notAfter;
    const present = certificate !== null && key !== undefined && notAfter !== null && notAfter > now;
    const options = present
      ? tlsOptionsFor({
          caPem: state.caCertificate,
          clientCertPem: certificate,
          clientKeyPem: tlsKeyPem(key),
        })
      : tlsOptionsFor({ caPem: state.caCertificate });
    this.#options = { state, options, until: present ? notAfter : null };
    return options;
  }

  /** True when the agent should ask for a (new) client certificate: none yet, or a quarter left. */
  needsClientCertificate(now: Date): boolean {
    if (this.state === undefined) return false;
    const certificate = this.state.clientCertificate;
    return certificate === null || this.#clientKey === undefined || certificateNeedsRenewal(certificate, now);
  }

  /**
   * A signed `tls-client-request` for a new TLS key (S1: signed by the client key), and a function
   * that accepts the certificate the site answers: issued by the hierarchy CA, for this client, for
   * this key. The new key is kept (encrypted) as the pending key until a certificate for it comes:
   * a joined site relays the request to the central site's CA and answers
   * ERR_CLIENT_CERTIFICATE_PENDING until the certificate is back, so the next request must name
   * the same key. Once accepted, the pending key becomes the client key.
   */
  async prepareRequest(
    clientKey: SigningKey,
    siteCode: string,
    now: Date,
  ): Promise<{ encoded: string; accept: (certificatePem: string) => Promise<void> }> {
    const state = this.state;
    if (state === undefined)
      throw new TlsCaMismatchError('No hierarchy CA is known: enrol over HTTPS first.');
    const tlsKey = await this.#pendingKey();
    const request = signDocument(
      {
        kind: 'tls-client-request',
        version: 1,
        clientId: clientKey.keyId,
        siteCode,
        tlsPublicKey: Buffer.from(tlsKey.publicKeyDer()).toString('base64'),
        nonce: randomToken(16),
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + requestValidityMs).toISOString(),
      },
      [clientKey],
    );
    return {
      encoded: request.encoded,
      accept: async (certificatePem) => {
        const summary = describeCertificate(certificatePem);
        if (
          !isIssuedBy(certificatePem, state.caCertificate) ||
          summary.publicKeySha256 !== tlsKey.publicKeySha256 ||
          summary.subject !== `CN=${clientKey.keyId}`
        ) {
          throw new TlsCaMismatchError(
            'The management point answered a client certificate that is not the hierarchy CA’s certificate of this client and key.',
          );
        }
        // The sealed pending key file becomes the client key file as it is (one atomic rename).
        await rename(this.layout.pendingClientTlsKey, this.layout.clientTlsKey);
        this.#clientKey = tlsKey;
        this.state = { ...state, clientCertificate: certificatePem };
        await writeState(this.layout.tls, this.state);
      },
    };
  }

  /** The key of the request waiting for its certificate, or a new one (written before it is sent). */
  async #pendingKey(): Promise<TlsKey> {
    if (await exists(this.layout.pendingClientTlsKey)) {
      const held = await readTlsKeyFile(this.layout.pendingClientTlsKey, this.secret).catch(() => undefined);
      if (held !== undefined) return held;
      await rm(this.layout.pendingClientTlsKey, { force: true });
    }
    const fresh = TlsKey.generate();
    await writeTlsKeyFile(this.layout.pendingClientTlsKey, fresh, this.secret);
    return fresh;
  }
}

/** The TLS state of a fresh enrolment: the CA, no client certificate yet. */
export async function writeInitialTlsState(
  layout: AgentLayout,
  ca: VerifiedTlsCa,
  endorsement: string,
): Promise<void> {
  await writeState(layout.tls, {
    caCertificate: ca.caCertificatePem,
    caEndorsement: endorsement,
    clientCertificate: null,
  } satisfies TlsState);
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
