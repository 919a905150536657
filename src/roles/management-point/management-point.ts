import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  clientCertificateRequestSchema,
  managementPointPaths,
  protocolLimits,
  reportBatchSchema,
  type ClientCertificateAnswer,
  type TrustBundle,
} from '../../protocol/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { InvalidRequestError } from '../../site/site-errors.js';
import { sha256Hex, type SigningKey } from '../../trust/index.js';
import {
  checkReportBatchCaller,
  issueClientCertificate,
  requireClientCertificate,
  requireClientOrProxy,
  type ClientCertificateSecurity,
} from './client-certificate.js';
import { buildAssignments, buildAssignmentsFor } from './assignments.js';
import { RateLimitedError, UnknownClientError } from './mp-errors.js';
import { PolicyCache, type CachedAssignments } from './policy-cache.js';
import { handleRegistration } from './registration.js';
import { acceptReports } from './report-intake.js';
import { TokenBuckets } from './rate-limit.js';
import { policyBodyEnvelope } from '../../site/policy/policy-targets.js';

export interface ManagementPointOptions {
  db: SiteDb;
  siteCode: string;
  mpName: string;
  mpKey: SigningKey;
  trustBundle: TrustBundle;
  approveAutomatically: boolean;
  /** Directory approval (S1): the machine account that vouches for a registering host name. */
  vouch?: (hostname: string) => Promise<string | undefined>;
  /** Called after reports were committed to the inbox, so processing starts at once. */
  onReportsStored: () => void;
  /**
   * When the site serves HTTPS (docs/tls.md): policy, policy bodies and reports need a valid,
   * unrevoked client certificate, which approved clients obtain from this MP. Absent: plain HTTP.
   */
  clientSecurity?: ClientCertificateSecurity;
  clock?: () => Date;
  /**
   * Called with every invalidation made here (not those replayed with `propagate: false`): the
   * site server records them in the policy change feed that MPs on other hosts poll.
   */
  policyChanged?: (clientIds: readonly string[] | 'all') => void;
  /** Rebuild invalidated lists in the background (default true; off where no agent polls here). */
  rebuildInBackground?: boolean;
  /** How signed lists are built (default: from `db`); an MP on its own host reads a replica. */
  assignments?: AssignmentSource;
  /** Where policy bodies are read first (a replica); `db` when absent or lacking the body. */
  readDb?: SiteDb;
  /** An MP on its own host holds no CA key: client certificate requests are relayed to the site. */
  relayClientCertificate?: (clientId: string, encodedRequest: string) => Promise<ClientCertificateAnswer>;
}

/** Builds signed assignment lists of many clients (C3); an error per client that has none. */
export interface AssignmentSource {
  build(clientIds: readonly string[], now: Date): Promise<Map<string, CachedAssignments | Error>>;
}

const clientIdPattern = /^[0-9a-f]{64}$/;
const policyIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The management point (DESIGN.md section 1): registration (S1), signed policy (C3, C4), reports
 * (S2). Embedded in the site server or run on its own; it answers unchanged-policy polls from
 * memory.
 */
export class ManagementPoint {
  readonly policyCache = new PolicyCache();
  #trustBody: Buffer;
  #trustEtag: string;
  readonly #building = new Map<string, Promise<CachedAssignments>>();
  readonly #bodies = new Map<string, Buffer>();
  readonly #perAddress = new TokenBuckets(20, 2);
  readonly #overall = new TokenBuckets(200, 100);
  readonly #now: () => Date;
  readonly #warmPending = new Set<string>();
  #warming: Promise<void> | undefined;
  #warmTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ManagementPointOptions) {
    this.#now = options.clock ?? (() => new Date());
    this.#trustBody = Buffer.from(JSON.stringify(options.trustBundle));
    this.#trustEtag = etagOf(this.#trustBody);
  }

  /**
   * The site changed what these clients should run (or `all`): their cached lists are dropped and
   * rebuilt in the background in batches, so the next poll is a cache hit again. Signing work grows
   * with changes, never with polls (DESIGN.md section 8).
   */
  invalidate(clientIds: Iterable<string> | 'all', options: { propagate?: boolean } = {}): void {
    const ids = clientIds === 'all' ? 'all' : [...clientIds];
    this.policyCache.invalidate(ids);
    if (options.propagate !== false) this.options.policyChanged?.(ids);
    if (ids !== 'all' && this.options.rebuildInBackground !== false) {
      for (const id of ids) this.#warmPending.add(id);
      this.#warmSoon();
    }
  }

  /** Waits until background rebuilds are done (tests, benchmarks, shutdown). */
  async settled(): Promise<void> {
    while (this.#warming !== undefined || this.#warmPending.size > 0) {
      await (this.#warming ?? new Promise((resolve) => setTimeout(resolve, 5)));
    }
  }

  #warmSoon(): void {
    if (this.#warming !== undefined || this.#warmTimer !== undefined) return;
    this.#warmTimer = setTimeout(() => {
      this.#warmTimer = undefined;
      this.#warming = this.#warm().finally(() => {
        this.#warming = undefined;
        if (this.#warmPending.size > 0) this.#warmSoon();
      });
    }, 20);
    this.#warmTimer.unref();
  }

  async #warm(): Promise<void> {
    const batch = [...this.#warmPending].slice(0, 5000);
    for (const id of batch) this.#warmPending.delete(id);
    const generation = this.policyCache.generation();
    try {
      const built = await this.#buildMany(batch, this.#now());
      for (const [clientId, entry] of built) {
        if (!(entry instanceof Error)) this.policyCache.set(clientId, entry, generation);
      }
    } catch {
      // The database is unreachable: polls build their lists one by one when it returns.
    }
  }

  #buildMany(clientIds: readonly string[], now: Date): Promise<Map<string, CachedAssignments | Error>> {
    const source = this.options.assignments;
    if (source !== undefined) return source.build(clientIds, now);
    return buildAssignmentsFor(this.options.db, this.#signer(), clientIds, now);
  }

  #signer() {
    return { siteCode: this.options.siteCode, mpName: this.options.mpName, mpKey: this.options.mpKey };
  }

  /** New root, site or MP certificates (rotation or renewal). */
  setTrustBundle(bundle: TrustBundle): void {
    this.#trustBody = Buffer.from(JSON.stringify(bundle));
    this.#trustEtag = etagOf(this.#trustBody);
  }

  register(app: FastifyInstance): void {
    app.get(managementPointPaths.trust, (request, reply) => {
      if (request.headers['if-none-match'] === this.#trustEtag)
        return reply.code(304).header('etag', this.#trustEtag).send();
      return reply.header('etag', this.#trustEtag).type('application/json').send(this.#trustBody);
    });

    app.post(
      managementPointPaths.register,
      { bodyLimit: protocolLimits.maxEnvelopeBytes },
      async (request) => {
        const nowMs = Date.now();
        if (!this.#overall.take('all', nowMs) || !this.#perAddress.take(request.ip, nowMs)) {
          throw new RateLimitedError('too many registrations; try again later');
        }
        const body = parseBody(
          z.strictObject({ registration: z.string().max(protocolLimits.maxEnvelopeBytes) }),
          request.body,
        );
        const answer = await handleRegistration(
          this.options.db,
          {
            siteCode: this.options.siteCode,
            approveAutomatically: this.options.approveAutomatically,
            ...(this.options.vouch === undefined ? {} : { vouch: this.options.vouch }),
          },
          body.registration,
          this.#now(),
        );
        // S1: a registration can change what the client may receive (a token approved it).
        this.invalidate([answer.clientId]);
        return answer;
      },
    );

    app.post(
      '/mp/v1/clients/:clientId/certificate',
      { bodyLimit: 64 * 1024 },
      async (request: FastifyRequest<{ Params: { clientId: string } }>, reply) => {
        const security = this.options.clientSecurity;
        if (security === undefined) {
          return reply
            .code(404)
            .send(notFound('this site serves plain HTTP: it issues no client certificates'));
        }
        const nowMs = Date.now();
        if (!this.#overall.take('all', nowMs) || !this.#perAddress.take(request.ip, nowMs)) {
          throw new RateLimitedError('too many certificate requests; try again later');
        }
        const { clientId } = request.params;
        if (!clientIdPattern.test(clientId))
          throw new InvalidRequestError('a client id is 64 lowercase hex digits');
        const body = parseBody(clientCertificateRequestSchema, request.body);
        const relay = this.options.relayClientCertificate;
        if (relay !== undefined) return relay(clientId, body.request);
        return issueClientCertificate(
          this.options.db,
          { siteCode: this.options.siteCode, security },
          clientId,
          body.request,
          this.#now(),
        );
      },
    );

    app.get(
      '/mp/v1/clients/:clientId/policy',
      async (request: FastifyRequest<{ Params: { clientId: string } }>, reply) => {
        await requireClientOrProxy(
          request.raw.socket,
          this.options.clientSecurity,
          request.params.clientId,
          this.#isSecondarySite,
        );
        return this.#servePolicy(request, reply);
      },
    );

    app.get(
      '/mp/v1/policy-bodies/:policyId/:version',
      async (request: FastifyRequest<{ Params: { policyId: string; version: string } }>, reply) => {
        requireClientCertificate(request.raw.socket, this.options.clientSecurity);
        const { policyId, version } = request.params;
        const number = Number(version);
        if (!policyIdPattern.test(policyId) || !Number.isSafeInteger(number) || number < 1) {
          throw new InvalidRequestError('malformed policy id or version');
        }
        const key = `${policyId}/${number}`;
        let body = this.#bodies.get(key);
        if (body === undefined) {
          const envelope =
            (this.options.readDb === undefined
              ? undefined
              : await policyBodyEnvelope(this.options.readDb, policyId, number).catch(() => undefined)) ??
            (await policyBodyEnvelope(this.options.db, policyId, number));
          if (envelope === undefined) return reply.code(404).send(notFound(`policy ${key} does not exist`));
          body = Buffer.from(envelope);
          if (this.#bodies.size > 10_000) this.#bodies.clear();
          this.#bodies.set(key, body);
        }
        return reply
          .type('application/json')
          .header('cache-control', 'max-age=31536000, immutable')
          .send(body);
      },
    );

    app.post(managementPointPaths.reports, { bodyLimit: protocolLimits.maxRequestBytes }, async (request) => {
      const identity = requireClientCertificate(request.raw.socket, this.options.clientSecurity);
      const batch = parseBody(reportBatchSchema, request.body);
      await checkReportBatchCaller(request.raw.socket, identity, batch.reports, this.#isSecondarySite);
      const answer = await acceptReports(this.options.db, this.options.siteCode, batch.reports, this.#now());
      if (answer.results.some((r) => r.status === 'stored')) this.options.onReportsStored();
      return answer;
    });
  }

  /** True for one of this site's secondary sites, whose proxy MP serves clients of this site. */
  readonly #isSecondarySite = async (siteCode: string): Promise<boolean> => {
    const row = await this.options.db
      .selectFrom('sites')
      .select('code')
      .where('code', '=', siteCode)
      .where('site_type', '=', 'secondary')
      .where('parent_code', '=', this.options.siteCode)
      .executeTakeFirst();
    return row !== undefined;
  };

  async #servePolicy(
    request: FastifyRequest<{ Params: { clientId: string } }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const { clientId } = request.params;
    if (!clientIdPattern.test(clientId))
      throw new InvalidRequestError('a client id is 64 lowercase hex digits');
    const nowMs = Date.now();
    const entry = this.policyCache.get(clientId, nowMs) ?? (await this.#build(clientId));
    reply.header('etag', entry.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === entry.etag) return reply.code(304).send();
    return reply.type('application/json').send(entry.body);
  }

  async #build(clientId: string): Promise<CachedAssignments> {
    const pending = this.#building.get(clientId);
    if (pending !== undefined) return pending;
    const generation = this.policyCache.generation();
    const built =
      this.options.assignments === undefined
        ? buildAssignments(this.options.db, this.#signer(), clientId, this.#now())
        : this.#buildMany([clientId], this.#now()).then((entries) => {
            const entry = entries.get(clientId);
            if (entry === undefined)
              throw new UnknownClientError(`client ${clientId} is not registered at this site`);
            if (entry instanceof Error) throw entry;
            return entry;
          });
    const work = built
      .then((entry) => {
        this.policyCache.set(clientId, entry, generation);
        return entry;
      })
      .finally(() => this.#building.delete(clientId));
    this.#building.set(clientId, work);
    return work;
  }
}

function etagOf(body: Buffer): string {
  return `"${sha256Hex(body).slice(0, 32)}"`;
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new InvalidRequestError(`invalid request body: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

function notFound(message: string) {
  return { error: { code: 'ERR_NOT_FOUND', message, retryable: false } };
}
