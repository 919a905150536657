/**
 * Publishing automatically (DESIGN.md section 4): a site server with a `directory` block in
 * site.json publishes its entries, binding as its own account, when it starts, soon after its
 * boundaries change, and whenever a periodic check finds that what it would publish (its root
 * chain, site and MP certificates, URLs, boundaries) differs from what it last published. Once an
 * hour it publishes anyway, which puts back entries removed by hand. A directory that cannot be
 * reached never stops the site: the failure is logged and tried again at the next check.
 */
import { publishSiteEntries, type PublishResult } from '../../directory/publish/publish.js';
import { siteEntriesFromDatabase } from '../../directory/publish/site-data.js';
import { directoryConfigOf } from '../../directory/lookup/index.js';
import { sha256Hex } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import type { SiteDirectorySettings } from './site-directory-settings.js';

export interface PublisherLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface SiteDirectoryPublisherOptions {
  db: SiteDb;
  siteCode: string;
  directory: SiteDirectorySettings;
  log: PublisherLog;
  /** How often to compare what would be published with what was (default 60 s). */
  checkMs?: number;
  /** Publish at least this often even when nothing changed (default one hour). */
  refreshMs?: number;
  /** Delay after `changed()` (default 1 s), so that a burst of changes publishes once. */
  debounceMs?: number;
}

export class SiteDirectoryPublisher {
  #timer: NodeJS.Timeout | undefined;
  #soon: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #published: { digest: string; at: number } | undefined;
  #stopped = false;
  /** The outcome of the last attempt (tests and `site status` read it). */
  last: { at: Date; result?: PublishResult; error?: unknown } | undefined;

  constructor(private readonly options: SiteDirectoryPublisherOptions) {}

  start(): void {
    this.#trigger(true);
    this.#timer = setInterval(() => this.#trigger(false), this.options.checkMs ?? 60_000);
    this.#timer.unref();
  }

  /** Keys, certificates, URLs or boundaries changed: publish soon. */
  changed(): void {
    if (this.#stopped || this.#soon !== undefined) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.#trigger(true);
    }, this.options.debounceMs ?? 1000);
    this.#soon.unref();
  }

  /** Waits for the attempt in progress (and one requested meanwhile). */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearTimeout(this.#soon);
    await this.settled();
  }

  #trigger(force: boolean): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#again ||= force;
      return;
    }
    this.#running = this.#attempt(force).finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.#trigger(true);
      }
    });
  }

  async #attempt(force: boolean): Promise<void> {
    const { db, siteCode, directory, log } = this.options;
    const now = Date.now();
    try {
      const entries = await siteEntriesFromDatabase(db, siteCode);
      const digest = sha256Hex(JSON.stringify(entries));
      const fresh =
        this.#published !== undefined &&
        this.#published.digest === digest &&
        now - this.#published.at < (this.options.refreshMs ?? 3_600_000);
      if (!force && fresh) return;
      const result = await publishSiteEntries(directoryConfigOf(directory), entries);
      this.#published = { digest, at: now };
      this.last = { at: new Date(now), result };
      const changes = result.created.length + result.updated.length + result.removed.length;
      if (changes > 0) {
        log.info(
          { created: result.created, updated: result.updated, removed: result.removed },
          `published site ${siteCode} in the directory as ${result.writer}`,
        );
      }
    } catch (error) {
      this.#published = undefined;
      this.last = { at: new Date(now), error };
      log.warn({ err: error }, `publishing site ${siteCode} in the directory failed; trying again later`);
    }
  }
}
