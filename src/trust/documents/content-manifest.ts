/**
 * `content-manifest`: every file of one package version with its size and SHA-256, and the total
 * size; signed by the originating site's key (C5). Paths follow content-path.ts; they are unique, a
 * file is never also the folder of another file, and totalSize is the sum of the sizes.
 */
import { z } from 'zod';
import { contentPathProblem } from './content-path.js';
import {
  byteCount,
  identifier,
  isoTime,
  positiveInteger,
  sha256Field,
  siteCode,
  validityOrder,
} from './fields.js';

export const maxManifestFiles = 10_000;

const contentPath = z.string().superRefine((path, context) => {
  const problem = contentPathProblem(path);
  if (problem !== undefined) context.addIssue({ code: 'custom', message: `path ${problem}` });
});

const fileEntry = z.strictObject({ path: contentPath, size: byteCount, sha256: sha256Field });

export const contentManifestSchema = z
  .strictObject({
    kind: z.literal('content-manifest'),
    version: positiveInteger,
    packageId: identifier(),
    packageVersion: identifier(64),
    siteCode,
    files: z.array(fileEntry).min(1).max(maxManifestFiles),
    totalSize: byteCount,
    issuedAt: isoTime,
    expiresAt: isoTime,
  })
  .superRefine(validityOrder)
  .superRefine((manifest, context) => {
    const seen = new Set<string>();
    let total = 0;
    manifest.files.forEach((file, index) => {
      total += file.size;
      if (seen.has(file.path)) {
        context.addIssue({ code: 'custom', path: ['files', index, 'path'], message: 'duplicate path' });
      }
      seen.add(file.path);
    });
    const sorted = [...seen].sort();
    manifest.files.forEach((file, index) => {
      if (isFolderOfAnother(file.path, sorted)) {
        context.addIssue({
          code: 'custom',
          path: ['files', index, 'path'],
          message: 'is a file and also the folder of another file',
        });
      }
    });
    if (!Number.isSafeInteger(total) || total !== manifest.totalSize) {
      context.addIssue({
        code: 'custom',
        path: ['totalSize'],
        message: 'must equal the sum of the file sizes',
      });
    }
  });

/** True when some path in `sorted` lies under `path/` (binary search for the first candidate). */
function isFolderOfAnother(path: string, sorted: readonly string[]): boolean {
  const folder = path + '/';
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? '') < folder) low = middle + 1;
    else high = middle;
  }
  return sorted[low]?.startsWith(folder) ?? false;
}

export type ContentManifestPayload = z.output<typeof contentManifestSchema>;
