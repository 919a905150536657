/**
 * What applying site messages tells the rest of the site server, after the transaction committed:
 * policy caches to drop, collections to evaluate, trust bundles to reload, processors to wake.
 */
export interface HierarchyEvents {
  /** Clients whose assignment lists must be rebuilt (or 'all'). */
  policyChanged(clientIds: Iterable<string> | 'all'): void;
  /** A replicated collection changed: evaluate its rule and follow its membership. */
  collectionChanged(collectionId: string, directClients: ReadonlySet<string>): Promise<void>;
  /** The root chain or a site certificate changed: management points reload their trust bundle. */
  trustChanged(): Promise<void>;
  /** New content transfers are waiting. */
  contentQueued(): void;
  /** Client reports were stored in the inbox (from a secondary site). */
  reportsStored(): void;
  /** Records were queued on a link. */
  queued(): void;
  /** Boundaries or site systems of sites below changed: the server locator point reads them again. */
  boundariesChanged(): void;
}

/** Events for a site that reacts to nothing (tests, tools). */
export const ignoreEvents: HierarchyEvents = {
  policyChanged: () => undefined,
  collectionChanged: () => Promise.resolve(),
  trustChanged: () => Promise.resolve(),
  contentQueued: () => undefined,
  reportsStored: () => undefined,
  queued: () => undefined,
  boundariesChanged: () => undefined,
};
