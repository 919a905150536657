import { request } from 'node:http';
import { ManagementPointUnreachableError, ResponseTooLargeError } from '../../src/agent/agent-errors.js';
import { ManagementPointClient } from '../../src/agent/transport/management-point-client.js';
import {
  managementPointPaths,
  registrationAnswerSchema,
  RemoteError,
  type RegistrationAnswer,
  type ReportBatchAnswer,
  type TrustBundle,
} from '../../src/protocol/index.js';
import { PayloadInvalidError } from '../../src/trust/index.js';
import type { SimCounters } from './counters.js';
import type { FaultInjector } from './faults.js';

/**
 * The agent's own management point client (src/agent/transport), with the simulator's injected
 * faults around each request and its latency recorded. Corruption applies to what the agent
 * receives, never to what it sends: a report damaged in transit would be refused for good and
 * lost, which TLS prevents in a real deployment.
 */
export class SimManagementPointClient extends ManagementPointClient {
  constructor(
    baseUrl: string,
    private readonly faults: FaultInjector,
    private readonly counters: SimCounters,
  ) {
    super(baseUrl);
  }

  override async trust(
    etag: string | null,
  ): Promise<{ bundle: TrustBundle; etag: string | null } | 'unchanged'> {
    this.counters.count('trust');
    const started = performance.now();
    const answer = await this.faults.around('trust', () => super.trust(etag));
    this.counters.latency.trust.record(performance.now() - started);
    return answer;
  }

  override async policy(
    clientId: string,
    etag: string | null,
  ): Promise<{ envelope: string; etag: string | null } | 'unchanged'> {
    this.counters.count('policy');
    const started = performance.now();
    const answer = await this.faults.around('policy', () => super.policy(clientId, etag));
    const elapsed = performance.now() - started;
    (etag === null ? this.counters.latency.policyFirst : this.counters.latency.policy).record(elapsed);
    if (answer === 'unchanged') {
      this.counters.policyUnchanged += 1;
      return answer;
    }
    if (this.faults.corruptNow()) return { ...answer, envelope: this.faults.corruptText(answer.envelope) };
    return answer;
  }

  override async policyBody(policyId: string, version: number): Promise<string> {
    this.counters.count('policy-body');
    const body = await this.faults.around('policy body', () => super.policyBody(policyId, version));
    return this.faults.corruptNow() ? this.faults.corruptText(body) : body;
  }

  override async sendReports(encodedReports: readonly string[]): Promise<ReportBatchAnswer> {
    this.counters.count('reports');
    this.counters.siteVerifies += encodedReports.length;
    const started = performance.now();
    const answer = await this.faults.around('reports', () => super.sendReports(encodedReports));
    this.counters.latency.reports.record(performance.now() - started);
    return answer;
  }
}

/**
 * POST /mp/v1/register from a given local address. The agent's client uses fetch, which cannot
 * choose its source address; the management point limits registrations per address (S1), so a
 * fleet on one machine registers from many loopback addresses, as machines behind several NAT
 * gateways would. The request and answer are exactly those of ManagementPointClient.register.
 */
export function registerFrom(
  baseUrl: string,
  encodedRegistration: string,
  localAddress: string,
): Promise<RegistrationAnswer> {
  const url = new URL(managementPointPaths.register, baseUrl);
  const body = JSON.stringify({ registration: encodedRegistration });
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        localAddress,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let total = 0;
        response.on('data', (chunk: Buffer) => {
          total += chunk.byteLength;
          if (total > 64 * 1024) req.destroy(new ResponseTooLargeError(`${url.href} sent more than 64 KiB`));
          else chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          try {
            const parsed = JSON.parse(text) as unknown;
            if (status >= 400) {
              const error = (parsed as { error?: { code?: string; message?: string; retryable?: boolean } })
                .error;
              reject(
                new RemoteError(
                  error?.code ?? `ERR_HTTP_${status}`,
                  error?.message ?? `HTTP ${status}`,
                  status,
                  error?.retryable,
                ),
              );
              return;
            }
            const answer = registrationAnswerSchema.safeParse(parsed);
            if (answer.success) resolve(answer.data);
            else reject(new PayloadInvalidError('unexpected registration answer'));
          } catch {
            reject(new RemoteError(`ERR_HTTP_${status}`, `HTTP ${status}: not JSON`, status));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (cause) =>
      reject(new ManagementPointUnreachableError(`${url.href}: ${cause.message}`, { cause })),
    );
    req.end(body);
  });
}
