import { isStewardError, type SigningKey } from '../../../trust/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { SiteLinkUnreachableError } from '../hierarchy-errors.js';
import { describeAnswer, siteFetch, type LinkTls } from '../http-client.js';
import { linkIsOpen, linkSettings } from '../settings.js';
import { allLinks, recordLinkError, type SiteLink } from './link-store.js';
import { acknowledgeBatch, nextBatch, type OutboundBatch } from './outbox.js';

import { hierarchyPaths } from '../hierarchy-paths.js';

export const siteMessagesPath = hierarchyPaths.messages;

export interface SenderOptions {
  localCode: string;
  siteKey: SigningKey;
  /** How often idle links are looked at (new records also wake the sender). */
  idleMs?: number;
  /** First retry delay after a failure; doubles per failure up to maxBackoffMs. */
  retryMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
  /** Mutual TLS toward sites served over https (docs/tls.md). */
  tls?: LinkTls;
  log(message: string, error?: unknown): void;
}

/**
 * The sender (DESIGN.md section 1): for every link, sends the outbox's batches one at a time, in
 * sequence order, and drops a batch only when the other site answers that it committed it. A
 * failure keeps the batch and retries it with exponential backoff and jitter. A link sends only in
 * its open hours, and no faster than its rate limit.
 */
export class SiteSender {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #wake = false;
  readonly #retryAt = new Map<string, number>();
  readonly #failures = new Map<string, number>();
  readonly #budget = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly db: SiteDb,
    private readonly options: SenderOptions,
  ) {}

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Records were queued: send soon. A link waiting out a backoff keeps waiting. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#wake = true;
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#schedule(10);
  }

  /** Forgets every backoff (a link came back, an administrator asked): retry at once. */
  retryNow(): void {
    this.#retryAt.clear();
    this.wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
  }

  /** Sends until every open link is empty or failing; for tests and shutdown drains. */
  async flush(): Promise<void> {
    for (let round = 0; round < 1000; round += 1) {
      if (!(await this.#round())) return;
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
    let busy = false;
    try {
      this.#wake = false;
      busy = await this.#round();
    } catch (error) {
      this.options.log('the sender failed a round', error);
    }
    this.#schedule(busy || this.#wake ? 0 : (this.options.idleMs ?? 1000));
  }

  /** One batch per link that may send now; true when any batch was delivered. */
  async #round(): Promise<boolean> {
    let delivered = false;
    for (const link of await allLinks(this.db)) {
      if (this.#stopped) break;
      const now = new Date();
      if ((this.#retryAt.get(link.site_code) ?? 0) > now.getTime()) continue;
      const settings = await linkSettings(this.db, link.site_code);
      if (!linkIsOpen(settings, now)) continue;
      const batch = await nextBatch(
        this.db,
        { code: link.site_code, localCode: this.options.localCode, siteKey: this.options.siteKey },
        now,
      );
      if (batch === undefined) continue;
      const wait = this.#rateWait(link.site_code, batch.bytes, settings.maxBytesPerSecond, now.getTime());
      if (wait > 0) {
        this.#retryAt.set(link.site_code, now.getTime() + wait);
        continue;
      }
      try {
        await this.#send(link, batch);
        await acknowledgeBatch(this.db, link.site_code, batch.sequence, new Date());
        this.#failures.delete(link.site_code);
        this.#retryAt.delete(link.site_code);
        delivered = true;
      } catch (error) {
        const failures = (this.#failures.get(link.site_code) ?? 0) + 1;
        this.#failures.set(link.site_code, failures);
        const base = this.options.retryMs ?? 1000;
        const backoff = Math.min(
          base * 2 ** Math.min(failures - 1, 20),
          this.options.maxBackoffMs ?? 300_000,
        );
        this.#retryAt.set(link.site_code, Date.now() + backoff * (0.8 + Math.random() * 0.4));
        const message = isStewardError(error) ? `${error.code}: ${error.message}` : String(error);
        await recordLinkError(this.db, link.site_code, message, new Date()).catch(() => undefined);
        if (failures === 1 || failures % 10 === 0)
          this.options.log(`sending to site ${link.site_code} failed (${failures}x)`, error);
      }
    }
    return delivered;
  }

  /** Token bucket per link: milliseconds to wait before `bytes` may go (0: now). */
  #rateWait(code: string, bytes: number, perSecond: number | null, nowMs: number): number {
    if (perSecond === null) return 0;
    const capacity = Math.max(perSecond, bytes);
    const bucket = this.#budget.get(code) ?? { tokens: capacity, at: nowMs };
    const tokens = Math.min(capacity, bucket.tokens + ((nowMs - bucket.at) / 1000) * perSecond);
    if (tokens >= bytes) {
      this.#budget.set(code, { tokens: tokens - bytes, at: nowMs });
      return 0;
    }
    this.#budget.set(code, { tokens, at: nowMs });
    return Math.ceil(((bytes - tokens) / perSecond) * 1000);
  }

  async #send(link: SiteLink, batch: OutboundBatch): Promise<void> {
    const answer = await siteFetch(
      `${link.url}${siteMessagesPath}`,
      {
        body: { message: batch.envelope },
        timeoutMs: this.options.timeoutMs ?? 120_000,
        tls: this.options.tls?.(),
      },
      64 * 1024,
    );
    if (answer.status >= 200 && answer.status < 300) return;
    const { code, message } = describeAnswer(answer);
    throw new SiteLinkUnreachableError(
      `site ${link.site_code} refused batch ${batch.sequence} (${batch.recordCount} records): ${code}: ${message}`,
    );
  }
}
