/**
 * The distribution point's content service (docs/spec/distribution-point.md): signed manifests and
 * package files over HTTP with single byte ranges. Files are streamed in 1 MiB chunks, never read
 * whole; a request path is only ever looked up in the manifest's file list.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  chunkBytes,
  ContentCorruptError,
  isLibraryName,
  LinkRefusedError,
  openPackageFile,
  type PackageFile,
} from '../../site/content-library/index.js';
import { errorAnswer } from '../../site/http/error-handler.js';
import { NotFoundError } from '../../site/site-errors.js';
import { isStewardError } from '../../trust/index.js';
import { RangeNotSatisfiableError } from './errors.js';
import { PackageCache } from './package-cache.js';
import { decideRange } from './range.js';

export type DistributionPointOptions = {
  libraryDir: string;
  /** Share a cache with code that removes versions in this process; one is made otherwise. */
  cache?: PackageCache;
};

type VersionParams = { packageId: string; version: string };
type FileParams = VersionParams & { '*': string };

export const distributionPointPrefix = '/dp/v1';

export const distributionPointRoutes: FastifyPluginAsync<DistributionPointOptions> = async (app, options) => {
  const cache = options.cache ?? new PackageCache(options.libraryDir);
  await app.register(
    (dp: FastifyInstance, _options, done) => {
      dp.setNotFoundHandler((_request, reply) => sendError(reply, new NotFoundError('No such path.')));
      dp.setErrorHandler((error: unknown, request, reply) => handleError(error, request, reply));

      dp.get<{ Params: VersionParams }>('/packages/:packageId/:version/manifest', async (request, reply) => {
        const pkg = await cache.get(...checkedNames(request.params));
        return reply
          .type('application/json')
          .header('etag', `"${pkg.manifestHash}"`)
          .header('cache-control', 'no-transform')
          .send(pkg.manifestEncoded);
      });

      dp.route<{ Params: FileParams }>({
        method: ['GET', 'HEAD'],
        url: '/packages/:packageId/:version/files/*',
        handler: async (request, reply) => {
          const pkg = await cache.get(...checkedNames(request.params));
          const { handle, entry } = await openPackageFile(pkg, request.params['*']);
          let plan: FilePlan;
          try {
            plan = planFileAnswer(request, reply, entry);
          } catch (error) {
            await handle.close();
            throw error;
          }
          if (plan.kind === 'stream') {
            return reply.send(
              handle.createReadStream({ start: plan.start, end: plan.end, highWaterMark: chunkBytes }),
            );
          }
          await handle.close();
          return plan.kind === 'error' ? sendError(reply, plan.error) : reply.send();
        },
      });
      done();
    },
    { prefix: distributionPointPrefix },
  );
};

type FilePlan =
  | { kind: 'stream'; start: number; end: number }
  | { kind: 'no-body' }
  | { kind: 'error'; error: RangeNotSatisfiableError };

/** Sets the status and headers of a file answer (RFC 9110 ranges, range.ts) and says what body follows. */
function planFileAnswer(request: FastifyRequest, reply: FastifyReply, entry: PackageFile): FilePlan {
  const etag = `"${entry.sha256}"`;
  reply
    .header('accept-ranges', 'bytes')
    .header('etag', etag)
    .header('cache-control', 'no-transform')
    .header('x-content-type-options', 'nosniff');
  const range = decideRange(request.headers.range, entry.size, etag, headerText(request.headers['if-range']));
  if (range.kind === 'unsatisfiable') {
    reply.header('content-range', `bytes */${entry.size}`);
    return { kind: 'error', error: new RangeNotSatisfiableError(entry.size) };
  }
  const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, entry.size - 1];
  reply
    .code(range.kind === 'partial' ? 206 : 200)
    .type('application/octet-stream')
    .header('content-length', String(end - start + 1));
  if (range.kind === 'partial') reply.header('content-range', `bytes ${start}-${end}/${entry.size}`);
  return request.method === 'HEAD' || entry.size === 0 ? { kind: 'no-body' } : { kind: 'stream', start, end };
}

/** ERR_NOT_FOUND for a package id or version that could not name a library folder. */
function checkedNames(params: VersionParams): [string, string] {
  if (!isLibraryName(params.packageId) || !isLibraryName(params.version)) {
    throw new NotFoundError('No such package version.');
  }
  return [params.packageId, params.version];
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body } = errorAnswer(error);
  return reply.code(status).type('application/json').send(body);
}

/** Maps through the site's one error table (errorAnswer); logs what an operator must see. */
async function handleError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const where = { url: request.url.slice(0, 512) };
  if (error instanceof LinkRefusedError) {
    request.log.warn(
      { ...where, link: error.at },
      'distribution point refused a symbolic link in the content library',
    );
    return sendError(reply, new NotFoundError('No such package content.'));
  }
  if (error instanceof ContentCorruptError) {
    request.log.error({ ...where, code: error.code, problems: error.problems }, error.message);
  } else if (!isStewardError(error)) {
    request.log.error({ ...where, err: error }, 'distribution point request failed');
  }
  return sendError(reply, error);
}
