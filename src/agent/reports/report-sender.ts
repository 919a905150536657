import { isStewardError } from '../../trust/index.js';
import { protocolLimits } from '../../protocol/index.js';
import type { ManagementPointClient } from '../transport/management-point-client.js';
import type { ReportQueue } from './report-queue.js';

/** Codes after which a report is sent again later; any other refusal is final. */
const retryLater = new Set([
  'ERR_CLIENT_NOT_APPROVED',
  'ERR_NOT_YET_VALID',
  'ERR_DATABASE',
  'ERR_RATE_LIMITED',
]);

export interface SendOutcome {
  sent: number;
  setAside: number;
  remaining: number;
  fullInventoryRequested: boolean;
}

/**
 * Sends queued reports in batches until the queue is empty or the management point stops
 * answering. Acknowledged (stored or duplicate) reports leave the queue; transient refusals stay.
 */
export async function flushReports(
  queue: ReportQueue,
  client: ManagementPointClient,
  log: (line: string) => void,
): Promise<SendOutcome> {
  let sent = 0;
  let setAside = 0;
  let fullInventoryRequested = false;
  for (;;) {
    const batch = await queue.pending(protocolLimits.maxReportsPerRequest);
    if (batch.length === 0) break;
    let answer;
    try {
      answer = await client.sendReports(batch.map((r) => r.encoded));
    } catch (error) {
      log(`reports not sent: ${isStewardError(error) ? `${error.code}: ${error.message}` : String(error)}`);
      break;
    }
    fullInventoryRequested ||= answer.fullInventoryRequested;
    let progress = 0;
    for (const [index, report] of batch.entries()) {
      const result = answer.results[index];
      if (result === undefined) continue;
      if (result.status === 'stored' || result.status === 'duplicate') {
        await queue.acknowledge(report);
        sent += 1;
        progress += 1;
      } else if (result.code === null || !retryLater.has(result.code)) {
        log(
          `report ${report.messageId} refused for good (${result.code ?? 'no code'}); kept in queue/rejected`,
        );
        await queue.setAside(report);
        setAside += 1;
        progress += 1;
      }
    }
    if (progress === 0) break;
  }
  return { sent, setAside, remaining: await queue.count(), fullInventoryRequested };
}
