import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { distributionPointPaths } from '../../protocol/index.js';
import {
  acceptContentManifest,
  createContentVerifier,
  HashMismatchError,
  HttpsRequestError,
  httpsStream,
  TlsCaMismatchError,
  type TlsClientOptions,
  type ContentManifestPayload,
  type PolicyBodyPayload,
  type VerifyingKey,
} from '../../trust/index.js';
import { CacheFullError, DownloadError } from '../agent-errors.js';
import { boundedFetch } from '../transport/bounded-fetch.js';
import type { ContentCache } from './content-cache.js';
import { openHttpDownload, type OpenDownload } from './http-download.js';

export interface DownloadProgress {
  /** Awaited before the first byte is requested, so its report is queued in order. */
  onStart(): Promise<void>;
}

/**
 * Fetches a deployment's content into the cache and verifies it (C5): the manifest must be signed
 * by a certified site key and equal the hash in the policy body; sizes are checked before any
 * download; every file is hashed while it streams and the stream is cut the moment it passes the
 * declared size; any mismatch deletes the download. An interrupted file resumes with a Range
 * request after its partial bytes are hashed again.
 */
export async function downloadContent(
  body: PolicyBodyPayload,
  context: {
    siteKeys: ReadonlyMap<string, VerifyingKey>;
    cache: ContentCache;
    inUse: ReadonlySet<string>;
    now: Date;
    /** For https distribution points: the hierarchy CA and the client certificate (docs/tls.md). */
    tls?: TlsClientOptions | undefined;
    /**
     * Distribution points to try before those the policy names: the one beside the management point
     * this agent uses (a secondary site's, in its boundary). Only where content comes from changes:
     * it is verified against the signed manifest all the same (C5), and any failure there falls
     * back to the policy's own list (docs/hierarchy.md, "Content location").
     */
    preferredContentUrls?: readonly string[] | undefined;
  },
  progress: DownloadProgress,
): Promise<{ dir: string; manifest: ContentManifestPayload; downloaded: boolean }> {
  const { packageId, version, manifestHash } = body.package;
  const { cache } = context;
  const filesDir = cache.filesDir(packageId, version);
  const sources = contentSources(body.contentUrls, context.preferredContentUrls);
  const manifest = await fetchManifest(body, sources, context);
  if (await cache.isComplete(packageId, version, manifestHash)) {
    await cache.touch(packageId, version);
    return { dir: filesDir, manifest, downloaded: false };
  }
  if (!(await cache.makeRoom(manifest.totalSize, context.inUse))) {
    throw new CacheFullError(
      `package ${packageId} ${version} needs ${manifest.totalSize} bytes; the cache holds at most ${cache.maxBytes}`,
    );
  }
  await progress.onStart();
  const partialDir = cache.partialDir(packageId, version);
  try {
    for (const file of manifest.files) {
      const target = cache.filePath(filesDir, file.path);
      if (await alreadyVerified(target, file)) continue;
      const partial = cache.filePath(partialDir, file.path);
      await downloadFromAny(sources, packageId, version, file, partial, context.tls);
      await mkdir(dirname(target), { recursive: true });
      await rename(partial, target);
    }
    await cache.markComplete(packageId, version, manifestHash);
  } catch (error) {
    if (error instanceof HashMismatchError || (error as { code?: string }).code === 'ERR_CONTENT_SIZE') {
      await cache.remove(packageId, version);
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOSPC') {
      await rm(partialDir, { recursive: true, force: true });
      throw new CacheFullError('the disk holding the content cache is full', { cause: error });
    }
    throw error;
  }
  return { dir: filesDir, manifest, downloaded: true };
}

/** Errors that refused the manifest itself (C5), as opposed to content that did not match it. */
const manifestRefusals = new WeakSet<Error>();

/** True when the manifest was refused (status 11005); false for content mismatches and failed downloads. */
export function isManifestRefusal(error: unknown): boolean {
  return error instanceof Error && manifestRefusals.has(error);
}

/** Preferred distribution points first, then the policy's own, each once. */
function contentSources(signed: readonly string[], preferred: readonly string[] = []): string[] {
  const seen = new Set<string>();
  return [...preferred, ...signed].filter((url) => {
    const key = trim(url);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function fetchManifest(
  body: PolicyBodyPayload,
  sources: readonly string[],
  context: { siteKeys: ReadonlyMap<string, VerifyingKey>; now: Date; tls?: TlsClientOptions | undefined },
): Promise<ContentManifestPayload> {
  let lastError: unknown = new DownloadError('the policy names no distribution point');
  for (const base of sources) {
    try {
      const response = await boundedFetch(
        `${trim(base)}${distributionPointPaths.manifest(body.package.packageId, body.package.version)}`,
        {
          maxBytes: 16 * 1024 * 1024,
          timeoutMs: 30_000,
          tls: context.tls,
        },
      );
      try {
        return acceptContentManifest(response.body.toString('utf8'), {
          siteKeys: context.siteKeys,
          expectedHash: body.package.manifestHash,
          packageId: body.package.packageId,
          packageVersion: body.package.version,
          now: context.now,
        }).payload;
      } catch (error) {
        if (error instanceof Error) manifestRefusals.add(error);
        throw error;
      }
    } catch (error) {
      // A preferred DP that lacks the package (or fails in any way) hands over to the policy's own.
      const preferred = !body.contentUrls.some((url) => trim(url) === trim(base));
      if (
        !preferred &&
        (error as { code?: string }).code?.startsWith('ERR_MP_UNREACHABLE') !== true &&
        !(error instanceof DownloadError)
      ) {
        throw error;
      }
      lastError = error;
    }
  }
  throw lastError;
}

/**
 * Tries each distribution point the policy names, in order: an unreachable or failing one hands over
 * to the next, which resumes the same partial file (every DP serves the same verified bytes).
 */
async function downloadFromAny(
  contentUrls: readonly string[],
  packageId: string,
  version: string,
  file: { path: string; size: number; sha256: string },
  partial: string,
  tls: TlsClientOptions | undefined,
): Promise<void> {
  let lastError: unknown = new DownloadError('the policy names no distribution point');
  for (const base of contentUrls) {
    try {
      await downloadFile([base], packageId, version, file, partial, tls);
      return;
    } catch (error) {
      if (!(error instanceof DownloadError)) throw error;
      lastError = error;
    }
  }
  throw lastError;
}

/** A file already in place (from an earlier, interrupted download) is re-hashed, never trusted. */
async function alreadyVerified(path: string, file: { size: number; sha256: string }): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info?.size !== file.size) return false;
  const verifier = createContentVerifier(file);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }))
    verifier.update(chunk as Buffer);
  try {
    verifier.finish();
    return true;
  } catch {
    await rm(path, { force: true });
    return false;
  }
}

async function downloadFile(
  contentUrls: readonly string[],
  packageId: string,
  version: string,
  file: { path: string; size: number; sha256: string },
  partial: string,
  tls: TlsClientOptions | undefined,
): Promise<void> {
  await mkdir(dirname(partial), { recursive: true });
  const verifier = createContentVerifier(file);
  let offset = 0;
  const existing = await stat(partial).catch(() => undefined);
  if (existing !== undefined && existing.size <= file.size) {
    for await (const chunk of createReadStream(partial, { highWaterMark: 1024 * 1024 }))
      verifier.update(chunk as Buffer);
    offset = existing.size;
  } else if (existing !== undefined) {
    await rm(partial, { force: true });
  }
  if (offset < file.size) {
    const base = contentUrls[0];
    if (base === undefined) throw new DownloadError('the policy names no distribution point');
    const url = `${trim(base)}${distributionPointPaths.file(packageId, version, file.path)}`;
    const response = await openDownload(url, offset > 0 ? { range: `bytes=${offset}-` } : {}, tls);
    if (response.status === 200 && offset > 0) {
      // The server ignored the range: start the file again.
      await response.cancel();
      await rm(partial, { force: true });
      return downloadFile(contentUrls, packageId, version, file, partial, tls);
    }
    if (response.status !== 200 && response.status !== 206) {
      await response.cancel();
      throw new DownloadError(`${url} answered HTTP ${response.status}`);
    }
    // A buffer of a few MiB lets the download run ahead of the disk: with the default 16 KiB, every
    // 64 KiB network chunk waited for its own write to finish before the next was read.
    const out = createWriteStream(partial, {
      flags: offset > 0 ? 'a' : 'w',
      mode: 0o600,
      highWaterMark: 4 * 1024 * 1024,
    });
    // A write error (ENOSPC: the cache disk is full) is kept and thrown from the loop below; unheard,
    // it would end the agent process, and a pending 'drain' would never come.
    let writeError: Error | undefined;
    out.on('error', (error) => (writeError = error));
    try {
      if (response.body !== null) {
        for await (const chunk of response.body) {
          verifier.update(chunk); // throws ERR_CONTENT_SIZE the moment the stream passes the declared size
          if (!out.write(chunk))
            await new Promise<void>((resolve) => {
              const done = () => {
                out.off('drain', done).off('close', done);
                resolve();
              };
              out.once('drain', done).once('close', done);
            });
          if (writeError !== undefined) throw writeError;
        }
      }
    } catch (error) {
      if (!out.destroyed) await new Promise<void>((resolve) => out.end(() => resolve()));
      if ((error as { code?: string }).code === 'ERR_CONTENT_SIZE') await rm(partial, { force: true });
      throw error instanceof Error && 'code' in error
        ? error
        : new DownloadError(`${url}: ${String(error)}`, { cause: error });
    }
    await new Promise<void>((resolve, reject) => {
      out.end((error?: Error | null) => (error ? reject(error) : resolve()));
    });
    if (writeError !== undefined) throw writeError;
  }
  try {
    verifier.finish();
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

const downloadTimeoutMs = 30 * 60_000;

/**
 * Opens a file download (plain HTTP: http-download.ts). https URLs are fetched with the hierarchy CA only (never the system store)
 * and the client certificate; network failures are ERR_DOWNLOAD (retried, on the next DP), a server
 * the CA does not vouch for ERR_TLS_SERVER_UNTRUSTED.
 */
async function openDownload(
  url: string,
  headers: Record<string, string>,
  tls: TlsClientOptions | undefined,
): Promise<OpenDownload> {
  if (url.startsWith('https:')) {
    if (tls === undefined) {
      throw new TlsCaMismatchError(`${url} is an https URL, and this agent holds no hierarchy TLS CA`);
    }
    try {
      const response = await httpsStream(url, { headers, timeoutMs: downloadTimeoutMs, tls });
      return {
        status: response.status,
        body: asDownloadErrors(response.body, url),
        cancel: () => {
          response.cancel();
          return Promise.resolve();
        },
      };
    } catch (cause) {
      if (cause instanceof HttpsRequestError) throw new DownloadError(`${url}: ${cause.message}`, { cause });
      throw cause;
    }
  }
  return openHttpDownload(url, headers, { timeoutMs: downloadTimeoutMs });
}

/** An interrupted HTTPS body is a failed download (ERR_DOWNLOAD: it resumes with a Range request). */
async function* asDownloadErrors(body: AsyncIterable<Buffer>, url: string): AsyncGenerator<Uint8Array> {
  try {
    yield* body;
  } catch (error) {
    if (error instanceof HttpsRequestError)
      throw new DownloadError(`${url}: ${error.message}`, { cause: error });
    throw error;
  }
}

function trim(url: string): string {
  return url.replace(/\/+$/, '');
}
