import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { isSafeContentPath } from '../../trust/index.js';

/**
 * The agent's content cache: one folder per package version, holding the verified files, the
 * manifest they were verified against, and a marker written only after every file matched (C5).
 * A size limit is enforced before a download starts, evicting the least recently used versions
 * that no current deployment needs.
 */
export class ContentCache {
  constructor(
    readonly root: string,
    readonly maxBytes: number,
  ) {}

  versionDir(packageId: string, version: string): string {
    return join(this.root, safeName(packageId), safeName(version));
  }

  filesDir(packageId: string, version: string): string {
    return join(this.versionDir(packageId, version), 'files');
  }

  partialDir(packageId: string, version: string): string {
    return join(this.versionDir(packageId, version), 'partial');
  }

  /** The absolute path of a manifest file inside `base`; the manifest schema already refused escapes. */
  filePath(base: string, relativePath: string): string {
    if (!isSafeContentPath(relativePath)) throw new Error(`unsafe content path ${relativePath}`);
    const full = resolve(base, relativePath);
    if (!full.startsWith(resolve(base) + sep))
      throw new Error(`content path ${relativePath} escapes the package`);
    return full;
  }

  async isComplete(packageId: string, version: string, manifestHash: string): Promise<boolean> {
    try {
      const marker = await readFile(join(this.versionDir(packageId, version), 'complete'), 'utf8');
      return marker.trim() === manifestHash;
    } catch {
      return false;
    }
  }

  async markComplete(packageId: string, version: string, manifestHash: string): Promise<void> {
    await writeFile(join(this.versionDir(packageId, version), 'complete'), `${manifestHash}\n`, {
      mode: 0o600,
    });
    await rm(this.partialDir(packageId, version), { recursive: true, force: true });
  }

  async touch(packageId: string, version: string): Promise<void> {
    const now = new Date();
    await utimes(this.versionDir(packageId, version), now, now).catch(() => undefined);
  }

  async remove(packageId: string, version: string): Promise<void> {
    await rm(this.versionDir(packageId, version), { recursive: true, force: true });
  }

  /**
   * Makes room for `needed` bytes, evicting unused versions oldest first. Returns false when even
   * an empty cache (apart from versions in use) would not hold them.
   */
  async makeRoom(needed: number, inUse: ReadonlySet<string>): Promise<boolean> {
    if (needed > this.maxBytes) return false;
    const versions = await this.#versions();
    let used = versions.reduce((sum, v) => sum + v.bytes, 0);
    for (const version of versions.sort((a, b) => a.usedAt - b.usedAt)) {
      if (used + needed <= this.maxBytes) break;
      if (inUse.has(version.key)) continue;
      await rm(version.dir, { recursive: true, force: true });
      used -= version.bytes;
    }
    return used + needed <= this.maxBytes;
  }

  async #versions(): Promise<{ key: string; dir: string; bytes: number; usedAt: number }[]> {
    const result: { key: string; dir: string; bytes: number; usedAt: number }[] = [];
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const packageId of await readdir(this.root)) {
      const packageDir = join(this.root, packageId);
      for (const version of await readdir(packageDir).catch(() => [] as string[])) {
        const dir = join(packageDir, version);
        const info = await stat(dir).catch(() => undefined);
        if (info === undefined) continue;
        result.push({
          key: `${packageId}/${version}`,
          dir,
          bytes: await folderBytes(dir),
          usedAt: info.mtimeMs,
        });
      }
    }
    return result;
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile())
      total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

function safeName(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(text)) throw new Error(`unsafe package name ${text}`);
  return text;
}
