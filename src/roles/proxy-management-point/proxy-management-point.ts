import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Socket } from 'node:net';
import {
  clientCertificateAnswerSchema,
  clientCertificateRequestSchema,
  managementPointPaths,
  protocolLimits,
  RemoteError,
  registrationAnswerSchema,
  reportBatchAnswerSchema,
  reportBatchSchema,
  type ClientCertificateAnswer,
  type RegistrationAnswer,
  type ReportBatchAnswer,
  type ReportResult,
} from '../../protocol/index.js';
import type { SiteDatabase } from '../../site/database/schema.js';
import { SiteLinkUnreachableError } from '../../site/hierarchy/hierarchy-errors.js';
import {
  describeAnswer,
  siteFetch,
  type BoundedAnswer,
  type LinkTls,
} from '../../site/hierarchy/http-client.js';
import { enqueue } from '../../site/hierarchy/links/outbox.js';
import { record } from '../../site/hierarchy/records.js';
import { readSetting, writeSetting } from '../../site/hierarchy/settings.js';
import { siteRoot } from '../../site/hierarchy/site-trust.js';
import { InvalidRequestError } from '../../site/site-errors.js';
import {
  acceptAssignments,
  checkClientCertificate,
  isStewardError,
  openDocument,
  parseEnvelope,
  publicKeyFromRecord,
  sha256Hex,
  verifyClientReport,
  verifyRegistration,
  type TlsClientIdentity,
} from '../../trust/index.js';
import { checkReportSigners } from '../management-point/client-certificate.js';
import {
  ClientCertificateMismatchError,
  ClientRevokedError,
  RateLimitedError,
  UnknownClientError,
  WrongSiteError,
} from '../management-point/mp-errors.js';
import { TokenBuckets } from '../management-point/rate-limit.js';
import { verifyParentBundle, type ParentTrust } from './parent-trust.js';

export interface ProxyManagementPointOptions {
  db: Kysely<SiteDatabase>;
  /** This secondary site's code, and its parent primary site's code and URL. */
  siteCode: string;
  parentCode: string;
  parentUrl: string;
  /** How long a cached trust bundle or assignment list is served before the parent is asked again. */
  revalidateMs: number;
  /** Reports were queued for the parent. */
  reportsQueued(): void;
  log(message: string, error?: unknown): void;
  /** Toward a parent served over https: the hierarchy CA and this site's certificate (docs/tls.md). */
  tls?: LinkTls;
  /**
   * The secondary serves HTTPS: policy, policy bodies and reports need a client certificate from
   * the hierarchy CA (the client's own for its policy and reports), which agents obtain through
   * this proxy from the parent's management point.
   */
  requireClientCertificates?: boolean;
}

const clientIdPattern = /^[0-9a-f]{64}$/;
const policyIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const trustSettingKey = 'proxy.trustBundle';

/**
 * The proxy management point of a secondary site (DESIGN.md section 1). Clients here belong to the
 * parent primary site; the proxy serves them the parent's signed documents, never its own: the
 * trust bundle, each client's assignment list signed by the parent's MP, and policy bodies signed
 * by the owning site. Each is verified before it is served or cached (C1 to C4, as an agent checks
 * them), and cached, so clients keep their policy while the parent cannot be reached. Reports are
 * checked (S2, for clients registered through this proxy) and queued in the secondary's outbox, then
 * forwarded up by the sender as signed site messages; the parent checks S2 again.
 */
export class ProxyManagementPoint {
  #trust: ParentTrust | undefined;
  #trustCheckedAt = 0;
  readonly #perAddress = new TokenBuckets(20, 2);

  constructor(private readonly options: ProxyManagementPointOptions) {}

  register(app: FastifyInstance): void {
    app.get(managementPointPaths.trust, async (request, reply) => {
      const trust = await this.#currentTrust();
      const etag = `"${sha256Hex(trust.bytes).slice(0, 32)}"`;
      if (request.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send();
      return reply.header('etag', etag).type('application/json').send(trust.bytes);
    });

    app.post(
      managementPointPaths.register,
      { bodyLimit: protocolLimits.maxEnvelopeBytes },
      async (request) => {
        if (!this.#perAddress.take(request.ip, Date.now()))
          throw new RateLimitedError('too many registrations');
        const body = parseBody(
          z.strictObject({ registration: z.string().max(protocolLimits.maxEnvelopeBytes) }),
          request.body,
        );
        return this.#register(body.registration);
      },
    );

    app.post(
      '/mp/v1/clients/:clientId/certificate',
      { bodyLimit: 64 * 1024 },
      async (request: FastifyRequest<{ Params: { clientId: string } }>) => {
        if (!this.#perAddress.take(request.ip, Date.now()))
          throw new RateLimitedError('too many certificate requests');
        const { clientId } = request.params;
        if (!clientIdPattern.test(clientId))
          throw new InvalidRequestError('a client id is 64 lowercase hex digits');
        return this.#certificate(clientId, parseBody(clientCertificateRequestSchema, request.body));
      },
    );

    app.get(
      '/mp/v1/clients/:clientId/policy',
      (request: FastifyRequest<{ Params: { clientId: string } }>, reply) => {
        this.#requireClient(request.raw.socket, request.params.clientId);
        return this.#policy(request, reply);
      },
    );

    app.get(
      '/mp/v1/policy-bodies/:policyId/:version',
      async (request: FastifyRequest<{ Params: { policyId: string; version: string } }>, reply) => {
        this.#requireClient(request.raw.socket);
        const { policyId, version } = request.params;
        const number = Number(version);
        if (!policyIdPattern.test(policyId) || !Number.isSafeInteger(number) || number < 1) {
          throw new InvalidRequestError('malformed policy id or version');
        }
        const envelope = await this.#policyBody(policyId, number);
        return reply
          .type('application/json')
          .header('cache-control', 'max-age=31536000, immutable')
          .send(envelope);
      },
    );

    app.post(managementPointPaths.reports, { bodyLimit: protocolLimits.maxRequestBytes }, async (request) => {
      const identity = this.#requireClient(request.raw.socket);
      const batch = parseBody(reportBatchSchema, request.body);
      if (identity !== undefined) checkReportSigners(batch.reports, identity.clientId);
      return this.#reports(batch.reports);
    });
  }

  /**
   * Over HTTPS, a client certificate from the hierarchy CA (the listener validated it); with
   * `clientId`, that client's. Revocation is the parent's: a revoked client's policy is refused
   * there and no longer served here from the next revalidation on.
   */
  #requireClient(socket: Socket, clientId?: string): TlsClientIdentity | undefined {
    if (this.options.requireClientCertificates !== true) return undefined;
    const identity = checkClientCertificate(socket, { required: true });
    if (identity !== undefined && clientId !== undefined && identity.clientId !== clientId) {
      throw new ClientCertificateMismatchError(
        `the client certificate belongs to client ${identity.clientId.slice(0, 16)}…, not to ${clientId.slice(0, 16)}…`,
      );
    }
    return identity;
  }

  /**
   * A client's certificate request goes to the parent's management point as it came (S1 is
   * checked there; a parent that joined a hierarchy relays it to the central site's CA and answers
   * ERR_CLIENT_CERTIFICATE_PENDING until the certificate is back).
   */
  async #certificate(clientId: string, body: { request: string }): Promise<ClientCertificateAnswer> {
    const answer = await siteFetch(
      `${this.options.parentUrl}${managementPointPaths.clientCertificate(clientId)}`,
      { body, timeoutMs: 30_000, tls: this.options.tls?.() },
      64 * 1024,
    );
    if (answer.status !== 200) throw remoteError(answer);
    return clientCertificateAnswerSchema.parse(JSON.parse(answer.text));
  }

  /** The parent's trust bundle, verified; the last good one while the parent cannot be reached. */
  async #currentTrust(): Promise<ParentTrust> {
    const nowMs = Date.now();
    if (this.#trust !== undefined && nowMs - this.#trustCheckedAt < this.options.revalidateMs)
      return this.#trust;
    const now = new Date(nowMs);
    const held = await siteRoot(this.options.db, now);
    try {
      const answer = await siteFetch(
        `${this.options.parentUrl}${managementPointPaths.trust}`,
        { timeoutMs: 15_000, tls: this.options.tls?.() },
        protocolLimits.maxResponseBytes,
      );
      if (answer.status !== 200) throw remoteError(answer);
      const bytes = Buffer.from(answer.text, 'utf8');
      this.#trust = verifyParentBundle(bytes, held, this.options.parentCode, now);
      this.#trustCheckedAt = nowMs;
      await writeSetting(this.options.db, trustSettingKey, answer.text, now);
      return this.#trust;
    } catch (error) {
      if (this.#trust !== undefined) return this.#trust;
      const stored = await readSetting(this.options.db, trustSettingKey);
      if (typeof stored === 'string') {
        this.#trust = verifyParentBundle(Buffer.from(stored, 'utf8'), held, this.options.parentCode, now);
        this.#trustCheckedAt = nowMs;
        return this.#trust;
      }
      throw error;
    }
  }

  /** S1 is the parent's: the registration is checked here (proof of possession, site) and forwarded. */
  async #register(registration: string): Promise<RegistrationAnswer> {
    const now = new Date();
    const verified = verifyRegistration(registration, now);
    if (verified.payload.siteCode !== this.options.parentCode) {
      throw new WrongSiteError(
        `clients at secondary site ${this.options.siteCode} belong to site ${this.options.parentCode}, not ${verified.payload.siteCode}`,
      );
    }
    const answer = await siteFetch(
      `${this.options.parentUrl}${managementPointPaths.register}`,
      { body: { registration }, timeoutMs: 30_000, tls: this.options.tls?.() },
      64 * 1024,
    );
    if (answer.status !== 200) throw remoteError(answer);
    const parsed = registrationAnswerSchema.parse(JSON.parse(answer.text));
    if (parsed.clientId !== verified.clientId)
      throw new InvalidRequestError('the parent answered for another client');
    await this.options.db
      .insertInto('proxy_clients')
      .values({
        client_id: parsed.clientId,
        public_key: verified.payload.clientKey.publicKey,
        state: parsed.state,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('client_id').doUpdateSet({ state: parsed.state, updated_at: now }))
      .execute();
    return parsed;
  }

  async #policy(
    request: FastifyRequest<{ Params: { clientId: string } }>,
    reply: FastifyReply,
  ): Promise<FastifyReply> {
    const { clientId } = request.params;
    if (!clientIdPattern.test(clientId))
      throw new InvalidRequestError('a client id is 64 lowercase hex digits');
    const now = new Date();
    const { db } = this.options;
    let cached = await db
      .selectFrom('proxy_policy_cache')
      .selectAll()
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    const stale =
      cached === undefined ||
      now.getTime() - new Date(cached.checked_at).getTime() >= this.options.revalidateMs;
    if (stale) {
      try {
        cached = (await this.#refreshPolicy(clientId, cached, now)) ?? cached;
      } catch (error) {
        if (
          isStewardError(error) &&
          (error.code === 'ERR_CLIENT_REVOKED' || error.code === 'ERR_UNKNOWN_CLIENT')
        )
          throw error;
        // The parent cannot be reached: the last verified list is served until it expires (C3 freeze).
        if (cached === undefined || new Date(cached.expires_at).getTime() <= now.getTime()) throw error;
        this.options.log(
          `serving the cached policy of ${clientId.slice(0, 16)}… (parent unreachable)`,
          error,
        );
      }
    }
    if (cached === undefined) throw new SiteLinkUnreachableError('no policy is known for this client yet');
    const etag = `"${cached.sequence}-${sha256Hex(cached.envelope).slice(0, 16)}"`;
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.type('application/json').send(cached.envelope);
  }

  /** Asks the parent (conditionally); a new list is verified (C3) before it replaces the cached one. */
  async #refreshPolicy(
    clientId: string,
    cached: { envelope: string; etag: string | null; sequence: number } | undefined,
    now: Date,
  ) {
    const trust = await this.#currentTrust();
    const answer = await siteFetch(
      `${this.options.parentUrl}${managementPointPaths.policy(clientId)}`,
      {
        timeoutMs: 15_000,
        headers: cached?.etag == null ? {} : { 'if-none-match': cached.etag },
        tls: this.options.tls?.(),
      },
      protocolLimits.maxResponseBytes,
    );
    const { db } = this.options;
    if (answer.status === 304 && cached !== undefined) {
      await db
        .updateTable('proxy_policy_cache')
        .set({ checked_at: now })
        .where('client_id', '=', clientId)
        .execute();
      return undefined;
    }
    if (answer.status === 403 || answer.status === 404) {
      await db.deleteFrom('proxy_policy_cache').where('client_id', '=', clientId).execute();
      const { code, message } = describeAnswer(answer);
      throw code === 'ERR_CLIENT_REVOKED' ? new ClientRevokedError(message) : new UnknownClientError(message);
    }
    if (answer.status !== 200) throw remoteError(answer);
    const accepted = acceptAssignments(answer.text, {
      mpKey: trust.mpKey,
      clientId,
      siteCode: this.options.parentCode,
      lastSequence: cached?.sequence ?? null,
      now,
    });
    const row = {
      client_id: clientId,
      envelope: answer.text,
      etag: answer.headers.get('etag'),
      sequence: accepted.payload.sequence,
      checked_at: now,
      expires_at: new Date(accepted.payload.expiresAt),
    };
    await db
      .insertInto('proxy_policy_cache')
      .values(row)
      .onConflict((oc) =>
        oc.column('client_id').doUpdateSet({
          envelope: row.envelope,
          etag: row.etag,
          sequence: row.sequence,
          checked_at: row.checked_at,
          expires_at: row.expires_at,
        }),
      )
      .execute();
    return row;
  }

  /** Bodies are immutable per version: fetched once, verified (signed by a certified site key, C4), kept. */
  async #policyBody(policyId: string, version: number): Promise<string> {
    const { db } = this.options;
    const held = await db
      .selectFrom('proxy_policy_bodies')
      .select('envelope')
      .where('policy_id', '=', policyId)
      .where('version', '=', version)
      .executeTakeFirst();
    if (held !== undefined) return held.envelope;
    const trust = await this.#currentTrust();
    const answer = await siteFetch(
      `${this.options.parentUrl}${managementPointPaths.policyBody(policyId, version)}`,
      { timeoutMs: 15_000, tls: this.options.tls?.() },
      protocolLimits.maxResponseBytes,
    );
    if (answer.status !== 200) throw remoteError(answer);
    const now = new Date();
    const opened = openDocument('policy-body', answer.text, trust.siteKeys, 1, now);
    if (opened.payload.policyId !== policyId || opened.payload.version !== version) {
      throw new InvalidRequestError('the parent answered with another policy body');
    }
    await db
      .insertInto('proxy_policy_bodies')
      .values({
        policy_id: policyId,
        version,
        envelope: answer.text,
        hash: opened.hash,
        expires_at: new Date(opened.payload.expiresAt),
      })
      .onConflict((oc) => oc.columns(['policy_id', 'version']).doNothing())
      .execute();
    return answer.text;
  }

  /**
   * Reports of clients registered through this proxy are checked (S2 signature, site, validity
   * window) and queued durably for the parent before they are acknowledged; reports of other
   * clients are handed to the parent's MP at once (503 while it cannot be reached: the agent keeps
   * them queued and sends them again).
   */
  async #reports(encoded: readonly string[]): Promise<ReportBatchAnswer> {
    const now = new Date();
    const { db } = this.options;
    const parsed = encoded.map((text) => {
      try {
        return {
          text,
          envelope: parseEnvelope(text, { maxBytes: protocolLimits.maxEnvelopeBytes, maxSignatures: 1 }),
        };
      } catch (error) {
        return { text, envelope: undefined, error };
      }
    });
    const ids = [
      ...new Set(
        parsed.flatMap((p) => (p.envelope === undefined ? [] : p.envelope.signatures.map((s) => s.keyid))),
      ),
    ];
    const known = new Map(
      ids.length === 0
        ? []
        : (await db.selectFrom('proxy_clients').selectAll().where('client_id', 'in', ids).execute()).map(
            (r) => [r.client_id, r],
          ),
    );
    const results: (ReportResult | undefined)[] = [];
    const queue: string[] = [];
    const forward: { index: number; text: string }[] = [];
    parsed.forEach((item, index) => {
      if (item.envelope === undefined) {
        results.push({ messageId: null, status: 'rejected', code: 'ERR_ENVELOPE_INVALID' });
        return;
      }
      const client = known.get(item.envelope.signatures[0]?.keyid ?? '');
      if (client === undefined) {
        results.push(undefined);
        forward.push({ index, text: item.text });
        return;
      }
      try {
        if (client.state === 'revoked') throw new ClientRevokedError('the client is revoked');
        const opened = verifyClientReport(
          item.envelope,
          publicKeyFromRecord({ keyId: client.client_id, publicKey: client.public_key }),
          now,
        );
        if (opened.payload.siteCode !== this.options.parentCode)
          throw new WrongSiteError('the report is for another site');
        if (
          Date.parse(opened.payload.expiresAt) - Date.parse(opened.payload.issuedAt) >
          protocolLimits.reportValidityMs
        ) {
          throw new WrongSiteError('the report claims a validity longer than the replay window');
        }
        queue.push(item.text);
        results.push({ messageId: opened.payload.messageId, status: 'stored', code: null });
      } catch (error) {
        results.push({
          messageId: null,
          status: 'rejected',
          code: isStewardError(error) ? error.code : 'ERR_REPORT_REJECTED',
        });
      }
    });
    let fullInventoryRequested = false;
    if (forward.length > 0) {
      const answer = await siteFetch(
        `${this.options.parentUrl}${managementPointPaths.reports}`,
        { body: { reports: forward.map((f) => f.text) }, timeoutMs: 30_000, tls: this.options.tls?.() },
        256 * 1024,
      );
      if (answer.status !== 200) throw remoteError(answer);
      const forwarded = reportBatchAnswerSchema.parse(JSON.parse(answer.text));
      fullInventoryRequested = forwarded.fullInventoryRequested;
      forward.forEach((f, i) => {
        results[f.index] = forwarded.results[i] ?? {
          messageId: null,
          status: 'rejected',
          code: 'ERR_REPORT_REJECTED',
        };
      });
    }
    if (queue.length > 0) {
      await db.transaction().execute(async (trx) => {
        await enqueue(
          trx,
          this.options.parentCode,
          queue.map((envelope) => record('client-report', { envelope })),
          now,
        );
      });
      this.options.reportsQueued();
    }
    return {
      results: results.map((r) => r ?? { messageId: null, status: 'rejected', code: 'ERR_REPORT_REJECTED' }),
      fullInventoryRequested,
    };
  }
}

function remoteError(answer: BoundedAnswer): RemoteError {
  const { code, message } = describeAnswer(answer);
  return new RemoteError(
    code,
    `the parent site answered: ${message}`,
    answer.status >= 500 ? 503 : answer.status,
  );
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success)
    throw new InvalidRequestError(`invalid request body: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
