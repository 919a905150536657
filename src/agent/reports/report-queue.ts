import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { protocolLimits } from '../../protocol/index.js';
import { randomId, signDocument, type SigningKey } from '../../trust/index.js';
import { writeFileAtomic } from '../../platform/atomic-file.js';
import { readState, writeState } from '../state/json-state.js';
import { z } from 'zod';

export type ReportType = 'heartbeat' | 'inventory' | 'status';

export interface QueuedReport {
  file: string;
  messageId: string;
  encoded: string;
}

const countersSchema = z.strictObject({ reportSequence: z.number().int().min(0) });

/**
 * The durable report queue (DESIGN.md section 6): every report is signed and written to its own
 * file before anything is sent, and removed only when the management point acknowledges it. A
 * resend after a restart or outage carries the same message id, so the site stores it once.
 */
export class ReportQueue {
  #sequence: number | undefined;

  constructor(
    private readonly dir: string,
    private readonly rejectedDir: string,
    private readonly countersPath: string,
    private readonly identity: { clientId: string; siteCode: string; key: SigningKey },
  ) {}

  async enqueue(reportType: ReportType, body: Record<string, unknown>, now: Date): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const sequence = await this.#nextSequence();
    const messageId = `${this.identity.clientId.slice(0, 16)}-${sequence}-${randomId().slice(0, 8)}`;
    const document = signDocument(
      {
        kind: 'client-report',
        sequence,
        messageId,
        clientId: this.identity.clientId,
        siteCode: this.identity.siteCode,
        reportType,
        body,
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + protocolLimits.reportValidityMs).toISOString(),
      },
      [this.identity.key],
    );
    const name = `${String(sequence).padStart(12, '0')}-${messageId}.json`;
    await writeFileAtomic(join(this.dir, name), document.encoded, 0o600);
    return messageId;
  }

  /** The oldest reports first, at most `limit`. */
  async pending(limit: number): Promise<QueuedReport[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
    } catch {
      return [];
    }
    const reports: QueuedReport[] = [];
    for (const name of names.slice(0, limit)) {
      const file = join(this.dir, name);
      try {
        reports.push({ file, messageId: name.slice(13, -5), encoded: await readFile(file, 'utf8') });
      } catch {
        // Removed concurrently (acknowledged): nothing to send.
      }
    }
    return reports;
  }

  async count(): Promise<number> {
    try {
      return (await readdir(this.dir)).filter((n) => n.endsWith('.json')).length;
    } catch {
      return 0;
    }
  }

  async acknowledge(report: QueuedReport): Promise<void> {
    await rm(report.file, { force: true });
  }

  /** A report the site refused for good is kept aside for the administrator, never silently lost. */
  async setAside(report: QueuedReport): Promise<void> {
    await mkdir(this.rejectedDir, { recursive: true, mode: 0o700 });
    await rename(report.file, join(this.rejectedDir, report.file.split('/').at(-1) ?? 'report.json'));
  }

  async #nextSequence(): Promise<number> {
    if (this.#sequence === undefined) {
      this.#sequence = (await readState(this.countersPath, countersSchema))?.reportSequence ?? 0;
    }
    this.#sequence += 1;
    await writeState(this.countersPath, { reportSequence: this.#sequence });
    return this.#sequence;
  }
}
