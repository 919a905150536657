import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  clientCertificateRequestSchema,
  installRequestSchema,
  protocolLimits,
  siteSystemPaths,
  siteSystemRequestHeader,
  siteSystemStatusSchema,
  type ContentList,
  type InstallAnswer,
  type SiteSystemTrust,
} from '../../protocol/index.js';
import {
  issueClientCertificate,
  type ClientCertificateSecurity,
} from '../../roles/management-point/client-certificate.js';
import { RateLimitedError } from '../../roles/management-point/mp-errors.js';
import { TokenBuckets } from '../../roles/management-point/rate-limit.js';
import type { SiteDb } from '../database/site-db.js';
import { rootChain, siteCertificates } from '../hierarchy/trust-store.js';
import { InvalidRequestError, NotFoundError } from '../site-errors.js';
import { installSiteSystem, type CertifyingSite } from './install-site-system.js';
import { SiteSystemUnauthorizedError } from './site-system-errors.js';
import { verifySiteSystemRequest, type VerifiedSiteSystem } from './site-system-requests.js';
import { applySiteSystemStatus, contentForDistributionPoints } from './site-system-status.js';

export interface SiteSystemRoutesContext {
  db: SiteDb;
  siteCode: string;
  /** Where distribution points pull content from: this site server's /dp/v1. */
  contentSourceUrl: string;
  certifying: CertifyingSite;
  /** Client certificates (undefined when this site serves plain HTTP: it issues none). */
  clientSecurity: ClientCertificateSecurity | undefined;
  /** A site system was installed: the trust bundle names the site's MPs again. */
  onInstalled(answer: InstallAnswer): void;
}

const clientIdPattern = /^[0-9a-f]{64}$/;

/**
 * The site server's endpoints for its site systems on other hosts (docs/scale-out.md). The trust
 * material is public; install is authorised by a one-time token's proof; everything else needs a
 * request signed by an installed site system's key (verifySiteSystemRequest), over the exact body
 * bytes, which is why these routes read their bodies as text before parsing them.
 */
export async function registerSiteSystemRoutes(
  app: FastifyInstance,
  context: SiteSystemRoutesContext,
): Promise<void> {
  const installs = new TokenBuckets(10, 0.5);
  await app.register((scope, _options, done) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, parsed) =>
      parsed(null, body),
    );

    scope.get(siteSystemPaths.trust, async (): Promise<SiteSystemTrust> => trustMaterial(context));

    scope.post(siteSystemPaths.install, { bodyLimit: 256 * 1024 }, async (request, reply) => {
      if (!installs.take(request.ip, Date.now()))
        throw new RateLimitedError('too many installs; try again later');
      const body = parseJson(installRequestSchema, request.body);
      const answer = await installSiteSystem(context.db, context.certifying, body, new Date());
      context.onInstalled(answer);
      return reply.code(201).send(answer);
    });

    scope.get(siteSystemPaths.content, async (request): Promise<ContentList> => {
      const system = await verified(context, request);
      if (system.role !== 'distribution-point')
        throw new SiteSystemUnauthorizedError('only distribution points hold content');
      return { sourceUrl: context.contentSourceUrl, items: await contentForDistributionPoints(context.db) };
    });

    scope.post(siteSystemPaths.status, { bodyLimit: 8 * 1024 * 1024 }, async (request, reply) => {
      const system = await verified(context, request);
      const status = parseJson(siteSystemStatusSchema, request.body);
      await applySiteSystemStatus(
        context.db,
        system,
        system.role === 'distribution-point' ? status : { ...status, content: null },
        new Date(),
      );
      return reply.code(204).send();
    });

    scope.post(
      '/site-systems/v1/client-certificates/:clientId',
      { bodyLimit: 64 * 1024 },
      async (request: FastifyRequest<{ Params: { clientId: string } }>) => {
        const system = await verified(context, request);
        if (system.role !== 'management-point')
          throw new SiteSystemUnauthorizedError('only management points relay client certificate requests');
        const security = context.clientSecurity;
        if (security === undefined) {
          throw new NotFoundError(
            'this site serves plain HTTP and issues no client certificates; run the site server with TLS',
          );
        }
        const { clientId } = request.params;
        if (!clientIdPattern.test(clientId))
          throw new InvalidRequestError('a client id is 64 lowercase hex digits');
        const body = parseJson(clientCertificateRequestSchema, request.body);
        return issueClientCertificate(
          context.db,
          { siteCode: context.siteCode, security },
          clientId,
          body.request,
          new Date(),
        );
      },
    );
    done();
  });
}

/** The public trust material a site system starts from (its root pin checks it). */
export async function trustMaterial(context: {
  db: SiteDb;
  siteCode: string;
  certifying: CertifyingSite;
}): Promise<SiteSystemTrust> {
  return {
    siteCode: context.siteCode,
    rootChain: await rootChain(context.db),
    siteCertificates: await siteCertificates(context.db),
    ...(await context.certifying.tlsFields()),
  };
}

async function verified(
  context: SiteSystemRoutesContext,
  request: FastifyRequest,
): Promise<VerifiedSiteSystem> {
  const header = request.headers[siteSystemRequestHeader];
  return verifySiteSystemRequest(
    context.db,
    context.siteCode,
    typeof header === 'string' ? header : undefined,
    {
      method: request.method,
      path: request.url,
      body: typeof request.body === 'string' ? request.body : '',
    },
    new Date(),
  );
}

function parseJson<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (typeof body !== 'string' || body.length > protocolLimits.maxRequestBytes) {
    throw new InvalidRequestError('the request body must be JSON');
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (cause) {
    throw new InvalidRequestError('the request body is not JSON', { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new InvalidRequestError(`invalid request body: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
