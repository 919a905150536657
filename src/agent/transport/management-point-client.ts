import { z } from 'zod';
import {
  clientCertificateAnswerSchema,
  managementPointPaths,
  protocolLimits,
  registrationAnswerSchema,
  reportBatchAnswerSchema,
  trustBundleSchema,
  type ClientCertificateAnswer,
  type RegistrationAnswer,
  type ReportBatchAnswer,
  type TrustBundle,
} from '../../protocol/index.js';
import { PayloadInvalidError, type TlsClientOptions } from '../../trust/index.js';
import { boundedFetch } from './bounded-fetch.js';

const timeoutMs = 30_000;

/**
 * The agent's side of the management point protocol (docs/spec/management-point.md). It only
 * moves bytes: every document it returns is verified by the caller before use.
 */
export class ManagementPointClient {
  /**
   * `tls` gives the TLS options for an https base URL (the hierarchy CA, and the client certificate
   * once there is one); it is asked on every request, so a new certificate is used at once.
   */
  constructor(
    readonly baseUrl: string,
    private readonly tls: () => TlsClientOptions | undefined = () => undefined,
  ) {}

  /** POST /mp/v1/clients/{id}/certificate: a client certificate for a signed `tls-client-request`. */
  async clientCertificate(clientId: string, encodedRequest: string): Promise<ClientCertificateAnswer> {
    const response = await boundedFetch(this.#url(managementPointPaths.clientCertificate(clientId)), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request: encodedRequest }),
      maxBytes: 128 * 1024,
      timeoutMs,
      tls: this.tls(),
    });
    return parseJson(clientCertificateAnswerSchema, response.body);
  }

  async trust(etag: string | null): Promise<{ bundle: TrustBundle; etag: string | null } | 'unchanged'> {
    const response = await boundedFetch(this.#url(managementPointPaths.trust), {
      headers: etag === null ? {} : { 'if-none-match': etag },
      maxBytes: protocolLimits.maxResponseBytes,
      timeoutMs,
      tls: this.tls(),
    });
    if (response.status === 304) return 'unchanged';
    return { bundle: parseJson(trustBundleSchema, response.body), etag: response.headers.get('etag') };
  }

  async register(encodedRegistration: string): Promise<RegistrationAnswer> {
    const response = await boundedFetch(this.#url(managementPointPaths.register), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ registration: encodedRegistration }),
      maxBytes: 64 * 1024,
      timeoutMs,
      tls: this.tls(),
    });
    return parseJson(registrationAnswerSchema, response.body);
  }

  /** The client's signed assignment list, or 'unchanged' when the ETag still matches. */
  async policy(
    clientId: string,
    etag: string | null,
  ): Promise<{ envelope: string; etag: string | null } | 'unchanged'> {
    const response = await boundedFetch(this.#url(managementPointPaths.policy(clientId)), {
      headers: etag === null ? {} : { 'if-none-match': etag },
      maxBytes: protocolLimits.maxResponseBytes,
      timeoutMs,
      tls: this.tls(),
    });
    if (response.status === 304) return 'unchanged';
    return { envelope: response.body.toString('utf8'), etag: response.headers.get('etag') };
  }

  async policyBody(policyId: string, version: number): Promise<string> {
    const response = await boundedFetch(this.#url(managementPointPaths.policyBody(policyId, version)), {
      maxBytes: protocolLimits.maxResponseBytes,
      timeoutMs,
      tls: this.tls(),
    });
    return response.body.toString('utf8');
  }

  async sendReports(encodedReports: readonly string[]): Promise<ReportBatchAnswer> {
    const response = await boundedFetch(this.#url(managementPointPaths.reports), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reports: encodedReports }),
      maxBytes: 256 * 1024,
      timeoutMs,
      tls: this.tls(),
    });
    return parseJson(reportBatchAnswerSchema, response.body);
  }

  #url(path: string): string {
    return `${this.baseUrl.replace(/\/+$/, '')}${path}`;
  }
}

function parseJson<T extends z.ZodType>(schema: T, body: Buffer): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (cause) {
    throw new PayloadInvalidError('the management point answered something that is not JSON', { cause });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new PayloadInvalidError(
      `unexpected answer from the management point: ${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}
