/**
 * The legacy point (docs/legacy-client.md): the `/legacy/v1` endpoints for legacy clients, machines
 * that run a POSIX shell script instead of the agent. Disabled unless the site enabled legacy clients
 * (`steward site legacy-clients enable`); every request checks that first. Bodies in both directions
 * are plain lines, so that `sh`, `curl`, `sed` and `read` are all a client needs.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SiteDb } from '../../site/database/site-db.js';
import { isLibraryName } from '../../site/content-library/index.js';
import { NotFoundError } from '../../site/site-errors.js';
import type { SigningKey } from '../../trust/index.js';
import { PackageCache } from '../distribution-point/package-cache.js';
import { RateLimitedError } from '../management-point/mp-errors.js';
import { TokenBuckets } from '../management-point/rate-limit.js';
import {
  LegacyClientsDisabledError,
  LegacyRequestInvalidError,
  LegacyUnauthenticatedError,
  LegacyUnverifiedRefusedError,
} from './legacy-errors.js';
import { formatLegacyList, legacyDeploymentsFor, signLegacyList } from './legacy-list.js';
import { readLegacySettings } from './legacy-settings.js';
import { maxLegacyStatusBytes, parseLegacyStatus, storeLegacyStatus } from './legacy-status.js';
import {
  authenticateLegacyClient,
  nextLegacyListSequence,
  registerLegacyClient,
  type LegacyClientIdentity,
  type LegacyVerification,
} from './legacy-store.js';
import { packageTar, TarDigests } from './legacy-tar.js';

export const legacyPointPrefix = '/legacy/v1';
export const legacyRegisterFormat = 'steward-legacy-register/v1';

export interface LegacyPointOptions {
  db: SiteDb;
  siteCode: string;
  /** Signs every list (the key legacy clients pin, as PEM, at install). */
  siteKey: SigningKey;
  libraryDir: string;
  clock?: () => Date;
}

const secretPattern = /^[0-9a-f]{64}$/;
const hostnamePattern = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** Registers the legacy point's routes in an encapsulated scope (its own text/plain parser). */
export async function registerLegacyPoint(app: FastifyInstance, options: LegacyPointOptions): Promise<void> {
  const now = options.clock ?? (() => new Date());
  const packages = new PackageCache(options.libraryDir);
  const tars = new TarDigests();
  const perAddress = new TokenBuckets(10, 1);
  const sources = { db: options.db, libraryDir: options.libraryDir, packages, tars };

  await app.register((scope: FastifyInstance, _options, done) => {
    // The site refuses text/plain everywhere else; here it is the wire format (docs/legacy-client.md).
    scope.addContentTypeParser(
      'text/plain',
      { parseAs: 'string', bodyLimit: maxLegacyStatusBytes },
      (_r, body, next) => next(null, body),
    );
    scope.addHook('onRequest', async () => {
      if (!(await readLegacySettings(options.db)).enabled) {
        throw new LegacyClientsDisabledError('legacy clients are disabled at this site');
      }
    });

    scope.post(`${legacyPointPrefix}/register`, { bodyLimit: 16 * 1024 }, async (request, reply) => {
      if (!perAddress.take(request.ip, Date.now())) throw new RateLimitedError('too many registrations');
      const fields = parseRegistration(request.body);
      const at = now();
      const registered = await registerLegacyClient(options.db, {
        ...fields,
        siteCode: options.siteCode,
        now: at,
      });
      request.log.info(
        { clientId: registered.clientId, verification: fields.verification },
        'legacy client registered',
      );
      return reply
        .type('text/plain; charset=utf-8')
        .send(
          `steward-legacy-client/v1\nclient ${registered.clientId}\nsite ${options.siteCode}\nstate ${registered.state}\n`,
        );
    });

    scope.get(
      `${legacyPointPrefix}/list`,
      async (request: FastifyRequest<{ Querystring: { verification?: string } }>, reply) => {
        const client = await authenticate(options.db, request);
        const verification = request.query.verification ?? 'signature';
        if (verification !== 'signature' && verification !== 'none') {
          throw new LegacyRequestInvalidError('verification is signature or none');
        }
        if (verification === 'none' && !(await readLegacySettings(options.db)).allowUnverified) {
          // Recorded all the same, so the audit sees the client that could not verify.
          await nextLegacyListSequence(options.db, client, verification, now());
          throw new LegacyUnverifiedRefusedError(
            'this client cannot check signatures, and the site does not send deployments to such clients',
          );
        }
        const at = now();
        const deployments = await legacyDeploymentsFor(sources, client, at);
        const sequence = await nextLegacyListSequence(options.db, client, verification, at);
        const list = formatLegacyList({
          siteCode: options.siteCode,
          clientId: client.clientId,
          signerKeyId: options.siteKey.keyId,
          sequence,
          issuedAt: at,
          deployments,
        });
        return reply
          .type('text/plain; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(signLegacyList(list, options.siteKey));
      },
    );

    scope.get(
      `${legacyPointPrefix}/packages/:packageId/:file`,
      async (request: FastifyRequest<{ Params: { packageId: string; file: string } }>, reply) => {
        await authenticate(options.db, request);
        const { packageId, file } = request.params;
        const version = file.endsWith('.tar') ? file.slice(0, -'.tar'.length) : '';
        if (!isLibraryName(packageId) || !isLibraryName(version)) throw new NotFoundError('No such package.');
        const pkg = await packages.get(packageId, version);
        const digest = await tars.of(pkg);
        return reply
          .type('application/x-tar')
          .header('content-length', digest.size)
          .header('cache-control', 'no-store')
          .send(Readable.from(packageTar(pkg)));
      },
    );

    scope.post(`${legacyPointPrefix}/status`, { bodyLimit: maxLegacyStatusBytes }, async (request, reply) => {
      const client = await authenticate(options.db, request);
      if (typeof request.body !== 'string')
        throw new LegacyRequestInvalidError('the body is text/plain lines');
      const at = now();
      const messages = parseLegacyStatus(request.body, client, at);
      await storeLegacyStatus(options.db, options.siteCode, messages, at);
      return reply.type('text/plain; charset=utf-8').send(`ok ${messages.length}\n`);
    });
    done();
  });
}

async function authenticate(db: SiteDb, request: FastifyRequest): Promise<LegacyClientIdentity> {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer ([0-9a-f]{64})$/.exec(header);
  if (match?.[1] === undefined)
    throw new LegacyUnauthenticatedError('send Authorization: Bearer <client secret>');
  return authenticateLegacyClient(db, match[1]);
}

/** `steward-legacy-register/v1` then `token`, `secret`, `hostname`, `verification` lines, once each. */
function parseRegistration(body: unknown): {
  token: string;
  secret: string;
  hostname: string;
  verification: LegacyVerification;
} {
  if (typeof body !== 'string') throw new LegacyRequestInvalidError('the body is text/plain lines');
  const lines = body.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] !== legacyRegisterFormat) {
    throw new LegacyRequestInvalidError(`the first line must be ${legacyRegisterFormat}`);
  }
  const fields = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const space = line.indexOf(' ');
    const name = space < 0 ? line : line.slice(0, space);
    if (!['token', 'secret', 'hostname', 'verification'].includes(name) || fields.has(name)) {
      throw new LegacyRequestInvalidError(`unexpected line ${JSON.stringify(name.slice(0, 32))}`);
    }
    fields.set(name, space < 0 ? '' : line.slice(space + 1));
  }
  const token = fields.get('token') ?? '';
  const secret = fields.get('secret') ?? '';
  const hostname = fields.get('hostname') ?? '';
  const verification = fields.get('verification') ?? '';
  if (token === '' || token.length > 128) throw new LegacyRequestInvalidError('a token line is required');
  if (!secretPattern.test(secret))
    throw new LegacyRequestInvalidError('the secret is 64 lowercase hex digits');
  if (!hostnamePattern.test(hostname))
    throw new LegacyRequestInvalidError('the host name is not a valid name');
  if (verification !== 'signature' && verification !== 'none') {
    throw new LegacyRequestInvalidError('verification is signature or none');
  }
  return { token, secret, hostname, verification };
}
