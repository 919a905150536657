import { DownloadError } from '../../src/agent/agent-errors.js';
import { boundedFetch } from '../../src/agent/transport/bounded-fetch.js';
import { distributionPointPaths } from '../../src/protocol/index.js';
import {
  acceptContentManifest,
  createContentVerifier,
  type ContentManifestPayload,
  type PolicyBodyPayload,
  type VerifyingKey,
} from '../../src/trust/index.js';
import type { SimCounters } from './counters.js';
import type { FaultInjector } from './faults.js';

/**
 * C5 as the agent does it (src/agent/content/content-download.ts): the manifest must be signed by a
 * certified site key and match the body's manifest hash; each file is hashed while it streams and
 * cut at its declared size. The simulator keeps no copy: it hashes and discards the bytes, so a
 * thousand agents do not fill the disk with the same package.
 */
export async function downloadAndVerify(
  body: PolicyBodyPayload,
  context: {
    siteKeys: ReadonlyMap<string, VerifyingKey>;
    now: Date;
    faults: FaultInjector;
    counters: SimCounters;
  },
): Promise<ContentManifestPayload> {
  const base = body.contentUrls[0];
  if (base === undefined) throw new DownloadError('the policy names no distribution point');
  const root = base.replace(/\/+$/, '');
  const { packageId, version, manifestHash } = body.package;
  context.counters.count('manifest');
  const response = await context.faults.around('manifest', () =>
    boundedFetch(`${root}${distributionPointPaths.manifest(packageId, version)}`, {
      maxBytes: 16 * 1024 * 1024,
      timeoutMs: 30_000,
    }),
  );
  let text = response.body.toString('utf8');
  if (context.faults.corruptNow()) text = context.faults.corruptText(text);
  context.counters.agentVerifiesNeeded += 1;
  const manifest = acceptContentManifest(text, {
    siteKeys: context.siteKeys,
    expectedHash: manifestHash,
    packageId,
    packageVersion: version,
    now: context.now,
  }).payload;
  for (const file of manifest.files) {
    context.counters.count('content');
    await fetchAndHash(`${root}${distributionPointPaths.file(packageId, version, file.path)}`, file, context);
  }
  return manifest;
}

async function fetchAndHash(
  url: string,
  file: { size: number; sha256: string },
  context: { faults: FaultInjector; counters: SimCounters },
): Promise<void> {
  const verifier = createContentVerifier(file);
  const corruptAt = context.faults.corruptNow() ? Math.floor(file.size / 2) : -1;
  await context.faults.around('content', async () => {
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(30 * 60_000), redirect: 'error' });
    } catch (cause) {
      throw new DownloadError(`${url}: ${(cause as Error).message}`, { cause });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new DownloadError(`${url} answered HTTP ${response.status}`);
    }
    if (response.body === null) return;
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      const seen = verifier.bytesSeen;
      const damaged =
        corruptAt >= seen && corruptAt < seen + chunk.byteLength ? context.faults.corruptBytes(chunk) : chunk;
      verifier.update(damaged);
    }
  });
  verifier.finish();
  context.counters.contentBytesVerified += file.size;
}
