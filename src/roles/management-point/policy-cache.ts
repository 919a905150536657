/**
 * The management point's memory of each client's signed assignment list (DESIGN.md section 8: an
 * unchanged-policy poll is a cache hit, with no database query and no signing). Entries are
 * dropped when the site says a client's policy changed, and refreshed before they expire.
 */
export interface CachedAssignments {
  readonly etag: string;
  readonly body: Buffer;
  /** After this time the list is re-signed, well before the agent would see it expire (C3 freeze). */
  readonly refreshAt: number;
}

export class PolicyCache {
  readonly #entries = new Map<string, CachedAssignments>();
  #generation = 0;

  get(clientId: string, nowMs: number): CachedAssignments | undefined {
    const entry = this.#entries.get(clientId);
    if (entry === undefined || entry.refreshAt <= nowMs) return undefined;
    return entry;
  }

  /** Stores an entry unless an invalidation happened since the caller started building it. */
  set(clientId: string, entry: CachedAssignments, generation: number): void {
    if (generation !== this.#generation) return;
    this.#entries.set(clientId, entry);
  }

  /** The generation to pass back to `set`: invalidations in between make the entry stale. */
  generation(): number {
    return this.#generation;
  }

  invalidate(clientIds: Iterable<string> | 'all'): void {
    this.#generation += 1;
    if (clientIds === 'all') {
      this.#entries.clear();
      return;
    }
    for (const id of clientIds) this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }
}
