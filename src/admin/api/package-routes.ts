import { dirname, isAbsolute } from 'node:path';
import { z } from 'zod';
import { appendAudit } from '../audit-log/index.js';
import { importPackageSource } from '../../site/content-library/index.js';
import {
  getPackageVersion,
  listPackages,
  packageIdFor,
  savePackageVersion,
} from '../../site/packages/package-store.js';
import { inTransaction } from '../../site/database/site-db.js';
import { InvalidRequestError } from '../../site/site-errors.js';
import { refuseReplicatedPackageName } from '../../site/hierarchy/read-only.js';
import { adminRoute } from './route-table.js';

const programSchema = z.strictObject({
  name: z.string().min(1).max(128),
  commandLine: z.string().min(1).max(8192),
  workingDirectory: z.string().max(1024).default('.'),
  environment: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(4096)).default({}),
  timeLimitSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
  elevated: z.boolean().default(false),
  successExitCodes: z.array(z.number().int()).min(1).max(32).default([0]),
});

export const packageRoutes = [
  adminRoute({
    method: 'GET',
    path: '/packages',
    summary: 'List packages and their versions',
    tag: 'packages',
    right: { objectClass: 'package', right: 'read' },
    handler: async ({ context }) => ({ items: await listPackages(context.db) }),
  }),
  adminRoute({
    method: 'POST',
    path: '/packages',
    summary:
      'Import a package version from a folder on the site server (hashes every file, signs the manifest); answers a job',
    tag: 'packages',
    body: z.strictObject({
      name: z.string().min(1).max(128),
      version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits and . _ -'),
      sourcePath: z.string().min(1).max(4096),
      programs: z.array(programSchema).min(1).max(32),
    }),
    right: { objectClass: 'package', right: 'create' },
    successStatus: 202,
    handler: async ({ context, body, principal }) => {
      if (!isAbsolute(body.sourcePath))
        throw new InvalidRequestError('sourcePath must be an absolute path on the site server');
      await refuseReplicatedPackageName(context.db, body.name);
      const names = new Set(body.programs.map((p) => p.name));
      if (names.size !== body.programs.length) throw new InvalidRequestError('program names must be unique');
      const job = context.jobs.start('package-import', async (report) => {
        const now = context.now();
        const packageId = await packageIdFor(context.db, body.name, context.siteCode, now);
        const imported = await importPackageSource({
          sourceDir: body.sourcePath,
          libraryDir: context.contentLibraryDir,
          packageId,
          packageVersion: body.version,
          siteCode: context.siteCode,
          siteKey: context.siteKey,
          now,
          onProgress: (p) => report(p.bytesDone, p.bytesTotal, 'bytes'),
          // The library is <data folder>/content (siteDataLayout): the data folder holds the keys.
          protectedDirs: [dirname(context.contentLibraryDir)],
        });
        await inTransaction(context.db, async (trx) => {
          await savePackageVersion(
            trx,
            {
              packageId,
              version: body.version,
              manifest: imported.manifest,
              totalSize: imported.totalSize,
              fileCount: imported.fileCount,
              programs: body.programs,
            },
            now,
          );
          await appendAudit(
            trx,
            {
              actor: principal.name,
              action: 'package.import',
              objectClass: 'package',
              objectId: packageId,
              details: {
                name: body.name,
                version: body.version,
                manifestHash: imported.manifest.hash,
                files: imported.fileCount,
                bytes: imported.totalSize,
              },
            },
            now,
          );
        });
        return getPackageVersion(context.db, packageId, body.version);
      });
      return job;
    },
  }),
  adminRoute({
    method: 'GET',
    path: '/packages/:id',
    summary: 'One package version with its programs and signed manifest',
    tag: 'packages',
    params: z.object({ id: z.string().min(1).max(64) }),
    query: z.object({ version: z.string().max(64).optional() }),
    right: { objectClass: 'package', right: 'read', instanceParam: 'id' },
    handler: async ({ context, params, query }) =>
      getPackageVersion(context.db, params.id, query.version ?? null),
  }),
  adminRoute({
    method: 'GET',
    path: '/jobs/:id',
    summary: 'Progress and result of a long operation',
    tag: 'jobs',
    params: z.object({ id: z.string().max(64) }),
    right: 'any-authenticated',
    handler: ({ context, params }) => Promise.resolve(context.jobs.get(params.id)),
  }),
];
