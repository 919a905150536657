import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { distributionPointPaths } from '../../../protocol/index.js';
import {
  createContentVerifier,
  HashMismatchError,
  httpsStream,
  isStewardError,
  openDocument,
  type TlsClientOptions,
} from '../../../trust/index.js';
import { verifyPackage } from '../../content-library/index.js';
import type { SiteDb } from '../../database/site-db.js';
import { SiteLinkUnreachableError } from '../hierarchy-errors.js';
import { siteFetch, type LinkTls } from '../http-client.js';
import { certifiedSiteKeys } from './certified-keys.js';

export interface ContentPullerOptions {
  libraryDir: string;
  /** A primary site records the version (package_versions) once it is verified; a secondary does not. */
  recordVersions: boolean;
  retryMs?: number;
  log(message: string, error?: unknown): void;
  /** Mutual TLS toward a parent served over https (docs/tls.md). */
  tls?: LinkTls;
  /** A version arrived and was verified. */
  onPulled?(packageId: string, version: string): void;
}

/**
 * Feeds this site's distribution point from its parent's (docs/hierarchy.md, "Packages"): for each
 * waiting transfer, the signed manifest is fetched and opened with a certified site key and must
 * hash to what the parent announced (C5, as an agent checks it); every file is streamed, counted
 * and hashed against the manifest into a work folder; the finished version is checked once more
 * with verifyPackage and only then renamed into the content library, where the DP serves it.
 * A failure keeps nothing and is retried with backoff.
 */
export class ContentPuller {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;
  #wake = false;

  constructor(
    private readonly db: SiteDb,
    private readonly options: ContentPullerOptions,
  ) {}

  start(): void {
    this.#stopped = false;
    this.#schedule(0);
  }

  wake(): void {
    if (this.#stopped) return;
    if (this.#running !== undefined) {
      this.#wake = true;
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#schedule(10);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await this.#running;
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
      busy = await this.runOnce(new Date());
    } catch (error) {
      this.options.log('content transfers failed', error);
    }
    this.#schedule(busy || this.#wake ? 0 : 1000);
  }

  /** Works on the oldest due transfer; true when one was attempted. */
  async runOnce(now: Date): Promise<boolean> {
    const due = await this.db
      .selectFrom('content_transfers')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('next_attempt_at')
      .limit(1)
      .executeTakeFirst();
    if (due === undefined) return false;
    try {
      const pulled = await this.#pull(due, now);
      if (this.options.recordVersions) {
        await this.db
          .insertInto('package_versions')
          .values({
            package_id: due.package_id,
            version: due.version,
            manifest: pulled.manifest,
            manifest_hash: due.manifest_hash,
            total_size: pulled.totalSize,
            file_count: pulled.fileCount,
            created_at: now,
          })
          .onConflict((oc) => oc.columns(['package_id', 'version']).doNothing())
          .execute();
      }
      await this.db
        .updateTable('content_transfers')
        .set((eb) => ({
          state: 'done',
          last_error: null,
          attempts: eb('attempts', '+', 1),
          updated_at: new Date(),
        }))
        .where('package_id', '=', due.package_id)
        .where('version', '=', due.version)
        .execute();
      this.options.onPulled?.(due.package_id, due.version);
    } catch (error) {
      const attempts = due.attempts + 1;
      const delay = Math.min((this.options.retryMs ?? 2000) * 2 ** Math.min(attempts - 1, 12), 600_000);
      const message = isStewardError(error) ? `${error.code}: ${error.message}` : String(error);
      await this.db
        .updateTable('content_transfers')
        .set({
          attempts,
          last_error: message.slice(0, 1000),
          next_attempt_at: new Date(Date.now() + delay),
          updated_at: new Date(),
        })
        .where('package_id', '=', due.package_id)
        .where('version', '=', due.version)
        .execute();
      if (attempts === 1 || attempts % 10 === 0)
        this.options.log(`pulling package ${due.package_id} ${due.version} failed (${attempts}x)`, error);
    }
    return true;
  }

  async #pull(
    transfer: { package_id: string; version: string; manifest_hash: string; source_url: string },
    now: Date,
  ): Promise<{ manifest: string; totalSize: number; fileCount: number }> {
    const { libraryDir } = this.options;
    const packageId = transfer.package_id;
    const version = transfer.version;
    const siteKeys = await certifiedSiteKeys(this.db, now);
    const finalDir = join(libraryDir, packageId, version);
    if (await exists(join(finalDir, 'manifest.json'))) {
      // Already here (a restart after the rename): verified again, never trusted by its presence.
      const verified = await verifyPackage({ libraryDir, packageId, packageVersion: version, siteKeys, now });
      if (verified.manifest.hash !== transfer.manifest_hash) {
        throw new HashMismatchError(
          `package ${packageId} ${version} in the library is not the version announced`,
        );
      }
      return {
        manifest: await readText(join(finalDir, 'manifest.json')),
        totalSize: verified.totalSize,
        fileCount: verified.fileCount,
      };
    }
    const base = transfer.source_url.replace(/\/+$/, '');
    const answer = await siteFetch(
      `${base}${distributionPointPaths.manifest(packageId, version)}`,
      { tls: this.options.tls?.() },
      16 * 1024 * 1024,
    );
    if (answer.status !== 200) {
      throw new SiteLinkUnreachableError(
        `the parent's distribution point answered HTTP ${answer.status} for the manifest`,
      );
    }
    // C5: signed by a certified site key, and the very manifest the parent announced.
    const manifest = openDocument('content-manifest', answer.text, siteKeys, 1, now);
    if (
      manifest.hash !== transfer.manifest_hash ||
      manifest.payload.packageId !== packageId ||
      manifest.payload.packageVersion !== version
    ) {
      throw new HashMismatchError(`the manifest of ${packageId} ${version} is not the one announced`);
    }
    await mkdir(libraryDir, { recursive: true });
    const work = await mkdtemp(join(libraryDir, '.import-'));
    try {
      const staged = join(work, packageId, version);
      await mkdir(join(staged, 'files'), { recursive: true });
      await writeDurably(join(staged, 'manifest.json'), answer.text);
      for (const file of manifest.payload.files) {
        await downloadFile(
          `${base}${distributionPointPaths.file(packageId, version, file.path)}`,
          file,
          join(staged, 'files', ...file.path.split('/')),
          this.options.tls?.(),
        );
      }
      const verified = await verifyPackage({
        libraryDir: work,
        packageId,
        packageVersion: version,
        siteKeys,
        now,
      });
      await mkdir(dirname(finalDir), { recursive: true });
      await rename(staged, finalDir);
      return { manifest: answer.text, totalSize: verified.totalSize, fileCount: verified.fileCount };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/** A file download's status and body, over plain HTTP or HTTPS with the hierarchy CA. */
async function openDownload(
  url: string,
  tls: TlsClientOptions | undefined,
): Promise<{ status: number; body: AsyncIterable<Uint8Array> | null; cancel(): Promise<void> }> {
  const timeoutMs = 30 * 60_000;
  try {
    if (url.startsWith('https:')) {
      if (tls === undefined) throw new Error('this site holds no hierarchy CA to check its parent with');
      const response = await httpsStream(url, { timeoutMs, tls });
      return {
        status: response.status,
        body: response.body,
        cancel: () => Promise.resolve(response.cancel()),
      };
    }
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    return {
      status: response.status,
      body: response.body as AsyncIterable<Uint8Array> | null,
      cancel: async () => {
        await response.body?.cancel();
      },
    };
  } catch (cause) {
    if (isStewardError(cause) && cause.code.startsWith('ERR_TLS_')) throw cause;
    throw new SiteLinkUnreachableError(`${url}: ${(cause as Error).message}`, { cause });
  }
}

async function downloadFile(
  url: string,
  file: { size: number; sha256: string },
  target: string,
  tls: TlsClientOptions | undefined,
): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const verifier = createContentVerifier(file);
  const response = await openDownload(url, tls);
  if (response.status !== 200) {
    await response.cancel();
    throw new SiteLinkUnreachableError(`${url} answered HTTP ${response.status}`);
  }
  const out = createWriteStream(target, { mode: 0o644 });
  try {
    if (response.body !== null) {
      for await (const chunk of response.body) {
        verifier.update(chunk); // ERR_CONTENT_SIZE the moment the stream passes the declared size
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  verifier.finish();
}

async function writeDurably(path: string, text: string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
