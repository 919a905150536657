import { parseEnvelope, parsePayload, envelopePayloadBytes } from '../../trust/index.js';
import type { SiteDatabaseHandle } from '../database/open.js';
import { inTransaction } from '../database/site-db.js';
import { applyHeartbeat, applyInventory } from '../inventory/inventory-store.js';
import { applyStatusMessages, type IncomingStatus } from '../status/status-store.js';
import { markProcessed, unprocessedReports } from './report-inbox.js';
import { typedReportBody, type TypedReport } from './report-bodies.js';

export interface InboxProcessorEvents {
  /** Inventory or discovery of these clients changed: collection rules may now match differently. */
  inventoryChanged(clientIds: ReadonlySet<string>): void;
}

/**
 * Applies stored reports to discovery, inventory and status (DESIGN.md section 5). The inbox holds
 * only reports whose signature the management point verified (S2). Each batch is applied and
 * marked processed in one transaction, so a killed site server neither loses nor doubles one.
 */
export class InboxProcessor {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #wakeRequested = false;

  constructor(
    private readonly database: SiteDatabaseHandle,
    private readonly siteCode: string,
    private readonly events: InboxProcessorEvents,
    private readonly options: { batchSize: number; idleMs: number; onError: (error: unknown) => void } = {
      batchSize: 500,
      idleMs: 250,
      onError: () => undefined,
    },
  ) {}

  start(): void {
    this.#schedule(0);
  }

  /** New reports were stored: process them soon rather than at the next idle tick. */
  wake(): void {
    if (this.#running !== undefined) {
      this.#wakeRequested = true;
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#schedule(5);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }

  /** Processes until the inbox is empty; returns how many reports were applied. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const done = await this.processBatch(new Date());
      total += done;
      if (done === 0) return total;
    }
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
      });
    }, delay);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    let processed = 0;
    try {
      this.#wakeRequested = false;
      processed = await this.processBatch(new Date());
    } catch (error) {
      this.options.onError(error);
    }
    const again = processed > 0 || this.#wakeRequested;
    this.#schedule(again ? 0 : this.options.idleMs);
  }

  async processBatch(now: Date): Promise<number> {
    const changed = new Set<string>();
    const count = await inTransaction(this.database.db, async (trx) => {
      const reports = await unprocessedReports(trx, this.options.batchSize);
      const statuses: IncomingStatus[] = [];
      for (const report of reports) {
        let typed: TypedReport;
        try {
          typed = typedReportBody(
            parsePayload('client-report', envelopePayloadBytes(parseEnvelope(report.envelope))),
          );
        } catch (error) {
          // A stored report that no longer reads (it was verified when it arrived) must not block
          // every report behind it: it is logged and marked processed with its batch.
          this.options.onError(
            new Error(`report ${report.messageId} of client ${report.clientId} cannot be read; skipped`, {
              cause: error,
            }),
          );
          continue;
        }
        if (typed.type === 'heartbeat') {
          await applyHeartbeat(trx, report.clientId, typed.body, report.receivedAt);
          changed.add(report.clientId);
        } else if (typed.type === 'inventory') {
          await applyInventory(trx, report.clientId, typed.body, report.receivedAt);
          changed.add(report.clientId);
        } else {
          typed.body.messages.forEach((message, index) => {
            statuses.push({
              messageId: `${report.messageId}:${index}`,
              clientId: report.clientId,
              machine: report.clientId,
              message,
            });
          });
        }
      }
      if (statuses.length > 0) {
        const clientIds = [...new Set(statuses.map((status) => status.clientId))];
        const names = new Map(
          (
            await trx.selectFrom('clients').select(['id', 'hostname']).where('id', 'in', clientIds).execute()
          ).map((row) => [row.id, row.hostname]),
        );
        for (const status of statuses) status.machine = names.get(status.clientId) ?? status.clientId;
      }
      await applyStatusMessages(trx, this.siteCode, statuses, now);
      await markProcessed(
        trx,
        reports.map((r) => r.messageId),
        now,
      );
      return reports.length;
    });
    if (changed.size > 0) this.events.inventoryChanged(changed);
    return count;
  }
}
