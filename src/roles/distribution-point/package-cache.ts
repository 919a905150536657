/**
 * A small cache of opened package manifests for the distribution point. Each use re-checks the
 * manifest file's stamp (a few lstat calls): a removed version (renamed away by
 * removePackageVersion, here or in another process) is noticed on the next request, and a
 * re-imported one is reopened. Least recently used entries leave first.
 */
import {
  manifestStamp,
  openPackage,
  sameStamp,
  type OpenedPackage,
} from '../../site/content-library/index.js';

export class PackageCache {
  readonly #entries = new Map<string, OpenedPackage>();

  constructor(
    readonly libraryDir: string,
    readonly maxEntries = 64,
  ) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be at least 1');
  }

  /** ERR_NOT_FOUND when the version is absent, ERR_CONTENT_CORRUPT when its manifest is damaged. */
  async get(packageId: string, packageVersion: string): Promise<OpenedPackage> {
    const key = `${packageId}/${packageVersion}`;
    const cached = this.#entries.get(key);
    if (cached !== undefined) {
      this.#entries.delete(key);
      const stamp = await manifestStamp(this.libraryDir, packageId, packageVersion);
      if (sameStamp(stamp, cached.stamp)) {
        this.#entries.set(key, cached);
        return cached;
      }
    }
    const opened = await openPackage(this.libraryDir, packageId, packageVersion);
    this.#entries.set(key, opened);
    for (const oldest of this.#entries.keys()) {
      if (this.#entries.size <= this.maxEntries) break;
      this.#entries.delete(oldest);
    }
    return opened;
  }

  /** Drops one version (call after removing it in this process; other removals are noticed anyway). */
  invalidate(packageId: string, packageVersion: string): void {
    this.#entries.delete(`${packageId}/${packageVersion}`);
  }

  get size(): number {
    return this.#entries.size;
  }
}
