import { sha256Hex } from '../../trust/index.js';
import type { InventoryBody } from '../../protocol/index.js';
import type { InventorySnapshot } from './collect-inventory.js';

/** A stable hash of a snapshot: the site compares it with a delta's base before applying it. */
export function snapshotHash(snapshot: InventorySnapshot): string {
  const facts = Object.entries(snapshot.facts).sort(([a], [b]) => (a < b ? -1 : 1));
  const software = [...snapshot.software]
    .map((s) => `${s.name}\u0000${s.arch}\u0000${s.version}\u0000${s.source}`)
    .sort();
  return sha256Hex(JSON.stringify({ facts, software }));
}

/**
 * The inventory report body: a full snapshot the first time (or when the site asks for one), then
 * deltas against the snapshot last sent. Null when nothing changed.
 */
export function inventoryReport(
  previous: InventorySnapshot | undefined,
  current: InventorySnapshot,
  forceFull: boolean,
): InventoryBody | null {
  const hash = snapshotHash(current);
  if (previous === undefined || forceFull) {
    return {
      full: true,
      baseHash: null,
      hash,
      facts: { set: current.facts, removed: [] },
      software: { set: current.software, removed: [] },
    };
  }
  const baseHash = snapshotHash(previous);
  if (baseHash === hash) return null;
  const setFacts: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(current.facts)) {
    if (previous.facts[name] !== value) setFacts[name] = value;
  }
  const removedFacts = Object.keys(previous.facts).filter((name) => !(name in current.facts));
  const key = (s: { name: string; arch: string }) => `${s.name}\u0000${s.arch}`;
  const before = new Map(previous.software.map((s) => [key(s), s]));
  const after = new Map(current.software.map((s) => [key(s), s]));
  const setSoftware = current.software.filter((s) => {
    const old = before.get(key(s));
    return old === undefined || old.version !== s.version || old.source !== s.source;
  });
  const removedSoftware = previous.software
    .filter((s) => !after.has(key(s)))
    .map((s) => ({ name: s.name, arch: s.arch }));
  return {
    full: false,
    baseHash,
    hash,
    facts: { set: setFacts, removed: removedFacts },
    software: { set: setSoftware, removed: removedSoftware },
  };
}
