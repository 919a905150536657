import type { SiteDb } from '../../../site/database/site-db.js';
import { latestPolicyChange, readPolicyChanges } from '../../../site/site-systems/policy-change-feed.js';

/**
 * Follows the site's policy change feed (site/site-systems/policy-change-feed.ts) from the database
 * the MP reads, and drops the named clients from the MP's cache. While that database cannot be
 * reached nothing is dropped: the MP keeps serving the signed lists it holds (docs/scale-out.md).
 * The reader starts at the feed's end, since an MP that just started holds no cached list yet.
 */
export class PolicyFeedReader {
  #lastSeq: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly db: SiteDb,
    private readonly invalidate: (clientIds: readonly string[] | 'all') => void,
    private readonly options: { intervalMs: number; onError(error: unknown): void },
  ) {}

  start(): void {
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One read of the feed (tests call it directly). */
  async readOnce(): Promise<void> {
    if (this.#lastSeq === undefined) {
      this.#lastSeq = await latestPolicyChange(this.db);
      return;
    }
    for (;;) {
      const changes = await readPolicyChanges(this.db, this.#lastSeq);
      if (changes.all) this.invalidate('all');
      else if (changes.clientIds.size > 0) this.invalidate([...changes.clientIds]);
      if (changes.lastSeq === this.#lastSeq) return;
      this.#lastSeq = changes.lastSeq;
    }
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.readOnce()
        .catch((error: unknown) => this.options.onError(error))
        .finally(() => {
          this.#running = undefined;
          this.#schedule(this.options.intervalMs);
        });
    }, delayMs);
    this.#timer.unref();
  }
}
