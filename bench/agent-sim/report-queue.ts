import type { ManagementPointClient } from '../../src/agent/transport/management-point-client.js';
import { protocolLimits, type StatusName } from '../../src/protocol/index.js';
import { isStewardError, signDocument } from '../../src/trust/index.js';
import type { SeededRandom } from '../harness/rng.js';
import type { SimCounters } from './counters.js';
import type { AgentIdentity } from './identity.js';

interface QueuedReport {
  readonly messageId: string;
  readonly encoded: string;
  readonly status: StatusName | null;
}

/** Codes after which a report is sent again later (src/agent/reports/report-sender.ts). */
const retryLater = new Set([
  'ERR_CLIENT_NOT_APPROVED',
  'ERR_NOT_YET_VALID',
  'ERR_DATABASE',
  'ERR_RATE_LIMITED',
]);

/**
 * A simulated agent's report queue, in memory: every report is signed when it is queued and leaves
 * the queue only when the management point acknowledges it after commit (stored or duplicate);
 * a transient refusal keeps it for the next flush, a final one sets it aside.
 */
export class SimReportQueue {
  readonly #queue: QueuedReport[] = [];
  #sequence = 0;

  constructor(
    private readonly identity: AgentIdentity,
    private readonly siteCode: string,
    private readonly random: SeededRandom,
    private readonly counters: SimCounters,
  ) {}

  get length(): number {
    return this.#queue.length;
  }

  /** One signed client-report per message, in order (src/agent/reports/report-queue.ts). */
  enqueue(
    reportType: 'heartbeat' | 'inventory' | 'status',
    body: Record<string, unknown>,
    status: StatusName | null,
    now: Date,
  ): void {
    this.#sequence += 1;
    const sequence = this.#sequence;
    const messageId = `${this.identity.clientId.slice(0, 16)}-${sequence}-${Math.floor(
      this.random.next() * 0xffffffff,
    )
      .toString(16)
      .padStart(8, '0')}`;
    const document = signDocument(
      {
        kind: 'client-report',
        sequence,
        messageId,
        clientId: this.identity.clientId,
        siteCode: this.siteCode,
        reportType,
        body,
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + protocolLimits.reportValidityMs).toISOString(),
      },
      [this.identity.key],
    );
    this.counters.agentSigns += 1;
    this.#queue.push({ messageId, encoded: document.encoded, status });
  }

  /** src/agent/reports/report-sender.ts: batches until empty; acknowledged reports leave the queue. */
  async flush(client: ManagementPointClient): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, protocolLimits.maxReportsPerRequest);
      let answer;
      try {
        answer = await client.sendReports(batch.map((r) => r.encoded));
      } catch (error) {
        this.counters.error(isStewardError(error) ? error.code : 'ERR_INTERNAL');
        return;
      }
      const keep: QueuedReport[] = [];
      let progress = 0;
      for (const [index, report] of batch.entries()) {
        const result = answer.results[index];
        if (result === undefined) {
          keep.push(report);
        } else if (result.status === 'stored' || result.status === 'duplicate') {
          progress += 1;
          this.counters.reportsAcknowledged += 1;
          if (report.status === 'program-succeeded') this.counters.succeededAckTimes.push(performance.now());
        } else if (result.code !== null && retryLater.has(result.code)) {
          keep.push(report);
        } else {
          progress += 1;
          this.counters.reportsSetAside += 1;
          this.counters.error(`report refused: ${result.code ?? 'no code'}`);
        }
      }
      this.#queue.splice(0, batch.length, ...keep);
      if (progress === 0) return;
    }
  }
}
