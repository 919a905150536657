import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  contentListSchema,
  distributionPointPaths,
  siteSystemPaths,
  type SiteSystemStatus,
} from '../../../protocol/index.js';
import {
  createContentVerifier,
  HashMismatchError,
  isStewardError,
  openDocument,
  type TrustedKeys,
} from '../../../trust/index.js';
import { verifyPackage } from '../../../site/content-library/index.js';
import type { SiteConnection } from '../../../site/site-systems/site-connection.js';
import { SiteUnreachableError } from '../../../site/site-systems/site-system-errors.js';

type ContentState = NonNullable<SiteSystemStatus['content']>[number];

/**
 * A distribution point's content on its own host (docs/scale-out.md): it asks its site which
 * package versions to hold (a signed request), pulls each one it lacks from the site's content
 * library, and keeps a version only once it is verified as an agent would (C5): the manifest signed
 * by a certified site key and hashing to what the site named, every file counted and hashed against
 * the manifest while it streams, the whole version checked again with verifyPackage before it is
 * renamed into the library it serves. Then it reports every version's state to the site.
 */
export async function syncContent(input: {
  site: SiteConnection;
  /** Connects to the content source the site names (its own listener). */
  source(url: string): SiteConnection;
  libraryDir: string;
  siteKeys: () => TrustedKeys;
  now: Date;
}): Promise<ContentState[]> {
  const list = contentListSchema.parse(JSON.parse(await input.site.get(siteSystemPaths.content)));
  const source = input.source(list.sourceUrl);
  const states: ContentState[] = [];
  for (const item of list.items) {
    try {
      await pullVersion(source, input.libraryDir, item, input.siteKeys(), input.now);
      states.push({ packageId: item.packageId, version: item.version, state: 'present', detail: '' });
    } catch (error) {
      if (error instanceof SiteUnreachableError) {
        states.push({
          packageId: item.packageId,
          version: item.version,
          state: 'pending',
          detail: error.message,
        });
        continue;
      }
      const detail = isStewardError(error) ? `${error.code}: ${error.message}` : String(error);
      states.push({
        packageId: item.packageId,
        version: item.version,
        state: 'failed',
        detail: detail.slice(0, 1000),
      });
    }
  }
  return states;
}

async function pullVersion(
  source: SiteConnection,
  libraryDir: string,
  item: { packageId: string; version: string; manifestHash: string },
  siteKeys: TrustedKeys,
  now: Date,
): Promise<void> {
  const { packageId, version } = item;
  const finalDir = join(libraryDir, packageId, version);
  if (await exists(join(finalDir, 'manifest.json'))) {
    // Already here: verified again, never trusted by its presence.
    const verified = await verifyPackage({ libraryDir, packageId, packageVersion: version, siteKeys, now });
    if (verified.manifest.hash === item.manifestHash) return;
    await rm(finalDir, { recursive: true, force: true });
  }
  const manifestText = await source.get(
    distributionPointPaths.manifest(packageId, version),
    16 * 1024 * 1024,
  );
  // C5: signed by a certified site key, and the very manifest the site named.
  const manifest = openDocument('content-manifest', manifestText, siteKeys, 1, now);
  if (
    manifest.hash !== item.manifestHash ||
    manifest.payload.packageId !== packageId ||
    manifest.payload.packageVersion !== version
  ) {
    throw new HashMismatchError(`the manifest of ${packageId} ${version} is not the one the site named`);
  }
  await mkdir(libraryDir, { recursive: true });
  const work = await mkdtemp(join(libraryDir, '.import-'));
  try {
    const staged = join(work, packageId, version);
    await mkdir(join(staged, 'files'), { recursive: true });
    await writeFile(join(staged, 'manifest.json'), manifestText, { mode: 0o644 });
    for (const file of manifest.payload.files) {
      await downloadFile(
        source,
        distributionPointPaths.file(packageId, version, file.path),
        file,
        join(staged, 'files', ...file.path.split('/')),
      );
    }
    await verifyPackage({ libraryDir: work, packageId, packageVersion: version, siteKeys, now });
    await mkdir(dirname(finalDir), { recursive: true });
    await rename(staged, finalDir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function downloadFile(
  source: SiteConnection,
  path: string,
  file: { size: number; sha256: string },
  target: string,
): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const verifier = createContentVerifier(file);
  const answer = await source.stream(path, 30 * 60_000);
  if (answer.status !== 200) {
    answer.cancel();
    throw new SiteUnreachableError(`${path} answered HTTP ${answer.status}`);
  }
  const out = createWriteStream(target, { mode: 0o644 });
  try {
    for await (const chunk of answer.body) {
      verifier.update(chunk); // ERR_CONTENT_SIZE the moment the stream passes the declared size
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
  } finally {
    await new Promise<void>((resolve, reject) =>
      out.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
  }
  verifier.finish();
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
