import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { appendAudit } from '../../admin/audit-log/index.js';
import {
  authenticateRequest,
  FailedLoginLimiter,
  issueApiToken,
  parseAuthorizationHeader,
  revokeApiToken,
  UnauthenticatedError,
  type DirectorySignIn,
} from '../../admin/identity/index.js';
import { sha256Hex } from '../../trust/index.js';
import type { SiteDb } from '../database/site-db.js';
import { inTransaction } from '../database/site-db.js';
import { NotFoundError } from '../site-errors.js';

/** The console's URL prefix, and how long a console sign-in lasts. */
export const consolePrefix = '/console';
export const consoleSessionHours = 8;
const sessionTokenName = 'console sign-in';

/** Headers on every console response: nothing but this origin's own files, never framed. */
export const consoleSecurityHeaders: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; object-src 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

export interface ConsoleOptions {
  readonly db: SiteDb;
  readonly siteCode: string;
  /** The built console (`npm run build:console`); defaults to console/dist of this installation. */
  readonly distDir?: string;
  /** Sign-in by directory bind, when the site has a directory (docs/directory.md). */
  readonly directorySignIn?: DirectorySignIn;
}

/**
 * The web console (docs/console.md): the single-page app built into console/dist, served at
 * /console with a strict Content-Security-Policy, and its sign-in. Signing in exchanges an account
 * name and password (checked exactly as the admin API checks them) for a short-lived API token that
 * the console sends as `Bearer` to /api/v1; signing out revokes it.
 */
export async function registerConsole(app: FastifyInstance, options: ConsoleOptions): Promise<void> {
  const distDir = resolve(options.distDir ?? defaultConsoleDir());
  app.get('/', (_request, reply) => reply.redirect(`${consolePrefix}/`));
  await app.register(async (scope) => {
    scope.addHook('onSend', (_request, reply, payload, done) => {
      reply.headers(consoleSecurityHeaders);
      done(null, payload);
    });
    registerSession(scope, options);
    // The folder is looked at on each request: building the console needs no restart of the site.
    await scope.register(fastifyStatic, {
      root: distDir,
      serve: false,
      decorateReply: true,
      suppressWarning: true,
    });
    scope.get(consolePrefix, async (_request, reply) => {
      await requireBuilt(distDir);
      return reply.redirect(`${consolePrefix}/`);
    });
    scope.get(`${consolePrefix}/*`, (request, reply) => serveConsoleFile(distDir, request, reply));
  });
}

/** A clear 404 until `npm run build:console` has written console/dist. */
async function requireBuilt(distDir: string): Promise<void> {
  const index = join(distDir, 'index.html');
  if (!(await isFile(index))) {
    throw new NotFoundError(`the web console is not built (no ${index}): run \`npm run build:console\``);
  }
}

/**
 * A file of the built console, or index.html for any other page path (the app routes in the
 * browser). A missing asset is a 404, never index.html, so a stale page fails visibly.
 */
async function serveConsoleFile(
  distDir: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  await requireBuilt(distDir);
  const path = (request.params as { '*'?: string })['*'] ?? '';
  const segments = path.split('/').filter((s) => s !== '');
  const plain = segments.every((s) => s !== '..' && !s.startsWith('.') && !s.includes('\\'));
  const file = resolve(distDir, ...segments);
  if (plain && segments.length > 0 && file.startsWith(distDir + sep) && (await isFile(file))) {
    const hashed = segments[0] === 'assets';
    return reply.sendFile(segments.join('/'), {
      cacheControl: true,
      maxAge: hashed ? 365 * 24 * 3600 * 1000 : 0,
      immutable: hashed,
      dotfiles: 'deny',
    });
  }
  if (segments[0] === 'assets' || /\.[A-Za-z0-9]+$/.test(segments.at(-1) ?? '')) {
    throw new NotFoundError(`no such console file: ${path}`);
  }
  return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false });
}

function registerSession(scope: FastifyInstance, options: ConsoleOptions): void {
  const limiter = new FailedLoginLimiter();
  const { db, siteCode } = options;

  scope.post(`${consolePrefix}/session`, async (request, reply) => {
    // Only a name and password start a session: a token cannot mint further tokens.
    const header = request.headers.authorization;
    if (header !== undefined && header !== '' && parseAuthorizationHeader(header).kind !== 'basic') {
      throw new UnauthenticatedError('Sign in to the console with an account name and password.');
    }
    const principal = await authenticateRequest(db, request, {
      limiter,
      now: new Date(),
      ...(options.directorySignIn === undefined ? {} : { directory: options.directorySignIn }),
    });
    const now = new Date();
    const expiresAt = new Date(now.getTime() + consoleSessionHours * 3600 * 1000);
    const issued = await inTransaction(db, async (trx) => {
      // Expired console sign-ins are of no further use; the audit log keeps the record of each.
      await trx
        .deleteFrom('api_tokens')
        .where('name', '=', sessionTokenName)
        .where('expires_at', '<', new Date(now.getTime() - 24 * 3600 * 1000))
        .execute();
      const token = await issueApiToken(trx, principal.accountId, { name: sessionTokenName, expiresAt }, now);
      await appendAudit(
        trx,
        {
          actor: principal.name,
          action: 'console.sign-in',
          objectClass: 'site',
          objectId: siteCode,
          details: { tokenId: token.id, expiresAt: expiresAt.toISOString(), address: request.ip },
        },
        now,
      );
      return token;
    });
    return reply.code(201).header('cache-control', 'no-store').send({
      token: issued.token,
      sessionId: issued.id,
      account: principal.name,
      expiresAt: expiresAt.toISOString(),
    });
  });

  scope.delete(`${consolePrefix}/session`, async (request, reply) => {
    const credentials = parseAuthorizationHeader(request.headers.authorization);
    if (credentials.kind !== 'bearer') throw new UnauthenticatedError('Sign out with the console token.');
    const principal = await authenticateRequest(db, request, { limiter, now: new Date() });
    const row = await db
      .selectFrom('api_tokens')
      .select(['id', 'name'])
      .where('token_hash', '=', sha256Hex(credentials.token))
      .executeTakeFirst();
    if (row?.name !== sessionTokenName) {
      throw new UnauthenticatedError('Only a console sign-in can be ended here.');
    }
    const now = new Date();
    await inTransaction(db, async (trx) => {
      await revokeApiToken(trx, row.id, now);
      await appendAudit(
        trx,
        {
          actor: principal.name,
          action: 'console.sign-out',
          objectClass: 'site',
          objectId: siteCode,
          details: { tokenId: row.id },
        },
        now,
      );
    });
    return reply.code(204).send();
  });
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** console/dist beside this installation's package.json (from src/ in tests, from dist/ when built). */
export function defaultConsoleDir(start = import.meta.dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'console', 'dist');
    const parent = dirname(dir);
    if (parent === dir) return resolve(start, '../../../console/dist');
    dir = parent;
  }
}
