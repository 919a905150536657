import type { SiteDb } from '../database/site-db.js';
import { deploymentsOfCollections, refreshTargeted } from '../deployments/deployment-store.js';
import { evaluateCollection, ruleCollectionIds } from './collection-store.js';

export interface MembershipListener {
  /** These clients joined or left collections: their assignment lists must be rebuilt. */
  membershipChanged(clientIds: ReadonlySet<string>): void;
}

/**
 * Keeps rule-based collections current (DESIGN.md section 5): when inventory changes, for the
 * clients whose inventory changed; and on a schedule, for everyone. Membership changes flow on to
 * deployment summaries (targeted counts) and to the management points' policy caches.
 */
export class CollectionEvaluator {
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #scheduleTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private readonly db: SiteDb,
    private readonly listener: MembershipListener,
    private readonly options: {
      debounceMs: number;
      fullEvaluationMs: number;
      onError: (error: unknown) => void;
    },
  ) {}

  start(): void {
    this.#scheduleTimer = setInterval(() => {
      this.#enqueue(() => this.evaluateAll());
    }, this.options.fullEvaluationMs);
    this.#scheduleTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#scheduleTimer !== undefined) clearInterval(this.#scheduleTimer);
    await this.#running;
  }

  /** Inventory or discovery of these clients changed. */
  clientsChanged(clientIds: Iterable<string>): void {
    for (const id of clientIds) this.#pending.add(id);
    if (this.#timer !== undefined || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const batch = [...this.#pending];
      this.#pending = new Set();
      this.#enqueue(() => this.evaluateFor(batch));
    }, this.options.debounceMs);
    this.#timer.unref();
  }

  /** Evaluates every rule collection for all clients; returns the clients whose membership changed. */
  async evaluateAll(): Promise<Set<string>> {
    return this.#evaluate(undefined);
  }

  async evaluateFor(clientIds: readonly string[]): Promise<Set<string>> {
    return this.#evaluate(clientIds);
  }

  /** Waits for queued evaluations (tests and shutdown). */
  async settled(): Promise<void> {
    await this.#running;
  }

  async #evaluate(clientIds: readonly string[] | undefined): Promise<Set<string>> {
    const changedClients = new Set<string>();
    const changedCollections: string[] = [];
    for (const collectionId of await ruleCollectionIds(this.db)) {
      const changed = await evaluateCollection(this.db, collectionId, new Date(), clientIds);
      if (changed.size > 0) changedCollections.push(collectionId);
      for (const id of changed) changedClients.add(id);
    }
    await this.afterMembershipChange(changedCollections, changedClients);
    return changedClients;
  }

  /** Refreshes targeted counts and tells the policy caches; also used after direct changes. */
  async afterMembershipChange(
    collectionIds: readonly string[],
    clientIds: ReadonlySet<string>,
  ): Promise<void> {
    for (const deploymentId of await deploymentsOfCollections(this.db, collectionIds)) {
      await refreshTargeted(this.db, deploymentId);
    }
    if (clientIds.size > 0) this.listener.membershipChanged(clientIds);
  }

  #enqueue(work: () => Promise<unknown>): void {
    this.#running = this.#running.then(work).then(
      () => undefined,
      (error: unknown) => this.options.onError(error),
    );
  }
}
